-- The non-empty check: the task fails when this returns 0 (lakehouse.catalog.AthenaNonEmptyCheckOperator).
SELECT count(*) AS row_count
FROM "{{ params.table }}"
