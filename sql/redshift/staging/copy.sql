-- Every file under the prefix (lakehouse.layout). An incremental prefix holds the placeholder
-- params.interval_day (lakehouse.redshift.INTERVAL_DAY), replaced here by the day the run's data interval
-- starts; a run without an interval fails at once (require_data_interval, lakehouse.defaults). A full prefix
-- needs no date, so an asset-triggered run (no logical date, no interval) renders it. The files write
-- timestamps as YYYY-MM-DD HH:MI:SS, COPY's default, in UTC like the data intervals they are checked against.
COPY {{ params.schema }}.{{ params.staging_table }}
{%- if params.interval_day in params.source_prefix %}{{ require_data_interval() }}
FROM 's3://{{ var.value.lakehouse_bucket }}/{{ params.source_prefix | replace(params.interval_day, data_interval_start.strftime("%Y-%m-%d")) }}'
{%- else %}
FROM 's3://{{ var.value.lakehouse_bucket }}/{{ params.source_prefix }}'
{%- endif %}
IAM_ROLE '{{ var.value.redshift_iam_role_arn }}'
DELIMITER '|'
GZIP
