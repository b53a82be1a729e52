DROP TABLE IF EXISTS {{ params.schema }}.{{ params.staging_table }}
