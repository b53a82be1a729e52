"""Building blocks shared by the lakehouse DAGs (shipped to MWAA as plugins.zip, on sys.path there)."""
