-- Ticket sales per calendar day. Partitioned by year and month (under Athena's 100 partitions per CTAS
-- for a few years of data); the partition columns come last, as Athena requires.
CREATE TABLE "{{ params.table }}"
WITH (
    format = 'PARQUET',
    write_compression = 'SNAPPY',
    external_location = 's3://{{ var.value.lakehouse_bucket }}/{{ params.location_prefix }}',
    partitioned_by = ARRAY['year', 'month']
) AS
SELECT
    d.caldate,
    d.day,
    count(*) AS sales_count,
    sum(s.qtysold) AS tickets_sold,
    sum(s.pricepaid) AS total_sales,
    sum(s.commission) AS total_commission,
    d.year,
    trim(d.month) AS month
FROM "{{ var.value.glue_database_refined }}"."sales" AS s
JOIN "{{ var.value.glue_database_refined }}"."date" AS d ON s.dateid = d.dateid
GROUP BY d.caldate, d.day, d.year, trim(d.month)
