CREATE SCHEMA IF NOT EXISTS {{ params.schema }};
