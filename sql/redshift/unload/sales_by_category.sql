-- The sales aggregate of unload/sales_by_category_query.sql (kept in its own file so the tests run it as it
-- is), quoted as UNLOAD wants it. CLEANPATH empties the prefix first: each run replaces the whole data set,
-- so a category that disappears leaves no stale partition behind. Partition columns become the folders
-- catgroup=<g>/catname=<n>/ the Glue crawler turns into partition keys.
UNLOAD ('{% filter replace("'", "''") %}{% include "redshift/unload/sales_by_category_query.sql" %}{% endfilter %}')
TO 's3://{{ var.value.lakehouse_bucket }}/{{ params.unload_prefix }}'
IAM_ROLE '{{ var.value.redshift_iam_role_arn }}'
FORMAT AS PARQUET
PARTITION BY (catgroup, catname)
CLEANPATH
