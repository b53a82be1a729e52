"""Run the DAGs end to end on a laptop: an in-process moto server stands in for the AWS account.

`LocalAws` (local_aws.harness) starts the server, seeds what the Variables name, finishes the work moto
leaves pending, and runs a DAG with `dag.test()`; `./run_local.sh DAG_ID` and tests/e2e use it.
"""
