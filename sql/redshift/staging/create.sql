-- LIKE copies the columns and the DISTKEY/SORTKEY of the target, so the merge joins node-locally.
CREATE TABLE {{ params.schema }}.{{ params.staging_table }} (LIKE {{ params.schema }}.{{ params.table }})
