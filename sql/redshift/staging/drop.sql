DROP TABLE IF EXISTS {{ params.schema }}.stage_{{ params.table }}
