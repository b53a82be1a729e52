-- Ticket sales per event category. Partitioned by category group (a handful of values); the partition
-- column comes last, as Athena requires.
CREATE TABLE "{{ params.table }}"
WITH (
    format = 'PARQUET',
    write_compression = 'SNAPPY',
    external_location = 's3://{{ var.value.lakehouse_bucket }}/{{ params.location_prefix }}',
    partitioned_by = ARRAY['catgroup']
) AS
SELECT
    c.catname,
    count(*) AS sales_count,
    sum(s.qtysold) AS tickets_sold,
    sum(s.pricepaid) AS total_sales,
    sum(s.commission) AS total_commission,
    c.catgroup
FROM "{{ var.value.glue_database_refined }}"."sales" AS s
JOIN "{{ var.value.glue_database_refined }}"."event" AS e ON s.eventid = e.eventid
JOIN "{{ var.value.glue_database_refined }}"."category" AS c ON e.catid = c.catid
GROUP BY c.catgroup, c.catname
