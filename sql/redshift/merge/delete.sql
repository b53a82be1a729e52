-- The merge is DELETE ... USING (this file) then INSERT (insert.sql), sent as one Data API batch, which
-- Redshift runs as one transaction: readers see the table before or after, never between.
-- Why not MERGE: the same two statements run unchanged (transpiled) on DuckDB 1.3.2, which has no MERGE,
-- and on PostgreSQL 15 in the tests, so the SQL we ship is the SQL we prove. Redshift's MERGE would also
-- fail outright on a staged key that appears twice, where this pair lets the duplicate-key check name it.
DELETE FROM {{ params.schema }}.{{ params.table }}
USING {{ params.schema }}.{{ params.staging_table }} AS staged
WHERE {{ params.schema }}.{{ params.table }}.{{ params.key }} = staged.{{ params.key }}
