"""Mutation testing of the harness, the plugins and the SQL: `tools/venv.sh python -m mutation`."""
