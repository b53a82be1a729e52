-- Every file under the prefix (lakehouse.layout). An incremental prefix holds the placeholder {ds}, replaced
-- here by the run's day. The files write timestamps as YYYY-MM-DD HH:MI:SS, COPY's default, in UTC like the
-- data intervals they are checked against.
COPY {{ params.schema }}.stage_{{ params.table }}
FROM 's3://{{ var.value.lakehouse_bucket }}/{{ params.source_prefix | replace("{ds}", ds) }}'
IAM_ROLE '{{ var.value.redshift_iam_role_arn }}'
DELIMITER '|'
GZIP
