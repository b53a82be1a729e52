"""The DAG gate: load the DAG folder once, purely, and check every DAG against the policy."""
