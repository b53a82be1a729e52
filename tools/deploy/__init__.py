"""The sync of the tested bundle to the MWAA bucket: bundle -> plan -> apply (run by ./sync_dags.sh)."""

# Set by ./run_tests.sh --upgrade-check for its suite and every gate that suite starts (the hook tests' nested
# ./run_tests.sh): deprecations are reported, not the errors pyproject.toml's filters make them
# (tests/conftest.py). Such a run is not the gate: deploy.selection never counts it for the stamp.
REPORT_DEPRECATIONS_ENV = "LAKEHOUSE_REPORT_DEPRECATIONS"
