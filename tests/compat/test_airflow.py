"""compat.airflow on the Airflow of the venv running it (3.0.6 in .venv, 3.3.1 in the upgrade check)."""

from __future__ import annotations

import pytest
from airflow.models.asset import AssetModel
from airflow.sdk import DAG, Asset

from compat import airflow as airflow_compat

ORDERS, CUSTOMERS = Asset("orders"), Asset("customers")


def queued(*assets: Asset) -> list[AssetModel]:
    """What AssetDagRunQueue rows point at: the metadata DB's asset rows."""
    return [AssetModel(name=asset.name, uri=asset.uri) for asset in assets]


@pytest.mark.parametrize(
    "schedule, events, due",
    [
        (ORDERS & CUSTOMERS, (ORDERS,), False),
        (ORDERS & CUSTOMERS, (ORDERS, CUSTOMERS), True),
        (ORDERS | CUSTOMERS, (CUSTOMERS,), True),
        (ORDERS | CUSTOMERS, (), False),
        (ORDERS, (ORDERS,), True),
        (ORDERS, (CUSTOMERS,), False),
    ],
    ids=[
        "all-one-queued",
        "all-both-queued",
        "any-one-queued",
        "any-none-queued",
        "one-asset",
        "other-asset",
    ],
)
def test_asset_condition_met_as_the_scheduler_evaluates_it(schedule, events, due):
    with DAG("consumer", schedule=schedule) as dag:
        pass

    assert airflow_compat.asset_condition_met(dag, queued(*events), session=None) is due
