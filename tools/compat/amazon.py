"""What the harness needs to know where the amazon provider's versions differ.

Covers apache-airflow-providers-amazon 9.12 (MWAA 3.0.6) and 9.34 (MWAA 3.3.1).
"""

from __future__ import annotations

import inspect


def redshift_data_cancels_on_kill() -> bool:
    """Whether RedshiftDataOperator cancels its statement when the task is killed (execution_timeout).
    9.34: yes, it keeps the statement id from the moment it is submitted (`cancel_on_kill`, default on);
    9.12: only after the wait ended, so a statement still running at the timeout is left running."""
    from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator

    return "cancel_on_kill" in inspect.signature(RedshiftDataOperator.__init__).parameters
