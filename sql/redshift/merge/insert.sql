-- The staging table was created LIKE the target, so the columns line up one to one.
INSERT INTO {{ params.schema }}.{{ params.table }}
SELECT * FROM {{ params.schema }}.{{ params.staging_table }}
