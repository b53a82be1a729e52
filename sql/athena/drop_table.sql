-- Before a CTAS rebuilds the table (Hive DDL; the database is the query context). Keeps the files: the
-- DAG clears the table's folder next.
DROP TABLE IF EXISTS `{{ params.table }}`
