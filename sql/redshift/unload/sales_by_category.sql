-- The sales aggregate of unload/sales_by_category_query.sql (kept in its own file so the tests run it as it
-- is), quoted as UNLOAD wants it. Partition columns become the folders catgroup=<g>/catname=<n>/ the Glue
-- crawler turns into partition keys. With PARTITION BY, CLEANPATH empties only the partition folders this
-- UNLOAD writes: the DAG deletes the whole prefix before (a category that disappears leaves nothing behind),
-- and CLEANPATH keeps a retry of this statement from failing on its own earlier partial output.
UNLOAD ('{% filter replace("'", "''") %}{% include "redshift/unload/sales_by_category_query.sql" %}{% endfilter %}')
TO 's3://{{ var.value.lakehouse_bucket }}/{{ params.unload_prefix }}'
IAM_ROLE '{{ var.value.redshift_iam_role_arn }}'
FORMAT AS PARQUET
PARTITION BY (catgroup, catname)
CLEANPATH
