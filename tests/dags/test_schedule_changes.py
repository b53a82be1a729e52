"""Schedule changes against the base (GATE_BASE_REF) or the recorded snapshot: within tools/gate/policy.toml's
limits, or acknowledged in tools/gate/acknowledged_schedule_changes.toml (tools/gate/schedule_changes.py)."""

from __future__ import annotations

import pytest

from gate import inventory, schedule_changes

pytestmark = pytest.mark.dag_gate(rank=1)  # the gate proper, after the load verdicts in the summary


def test_schedule_changes_stay_within_the_policy_or_are_acknowledged(loaded, policy, capsys):
    compared_with, base = schedule_changes.gate_base()
    parsed = inventory.snapshot(loaded)
    # ./run_tests.sh --dag parses the chosen DAGs only: the others update assets as recorded
    others = (
        {d: e for d, e in inventory.read_snapshot().items() if d not in parsed}
        if inventory.selected()
        else {}
    )
    result = schedule_changes.review(base, parsed, policy=policy, unparsed=others)
    report = f"{result.report()} (against {compared_with})"
    if result.changes:
        with capsys.disabled():  # the report is for every run, not only a failing one
            print(f"\n{report}")
    assert (
        not result.refused
    ), f"schedule changes refused: {', '.join(c.dag_id for c in result.refused)}\n{report}"
