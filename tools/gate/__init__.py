"""The DAG gate: load the DAG folder once, purely, and check every DAG against the policy."""

# The gate proper as pytest arguments, run from the repository root: its marker over the suite that holds it.
# GATE_DAGS_FOLDER points it at another DAG folder.
PYTEST_SELECTION = ("-m", "dag_gate", "tests/dags")
