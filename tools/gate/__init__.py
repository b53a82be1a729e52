"""The DAG gate: load the DAG folder once, purely, and check every DAG against the policy."""

# The test files that make up the gate proper (import errors, inventory, policy, parse budget): what a DAG
# folder is checked with when GATE_DAGS_FOLDER points elsewhere (benchmarks, the corpus run).
SUITE = ("tests/dags/test_dags_load.py", "tests/dags/test_dag_policy.py")
