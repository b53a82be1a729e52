"""The sync of the tested bundle to the MWAA bucket: bundle -> plan -> apply (run by ./sync_dags.sh)."""
