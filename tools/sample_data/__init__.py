"""Deterministic sample data for local runs and tests (`python -m sample_data.tickit --help`)."""
