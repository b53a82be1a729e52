-- The crawled UNLOAD output: how many categories have sales. 0 (or no table) fails the check.
SELECT COUNT(*) AS categories_with_sales
FROM (
    SELECT catgroup, catname
    FROM "{{ var.value.glue_database_unload }}"."sales_by_category"
    GROUP BY catgroup, catname
    HAVING SUM(sale_amount) > 0
) AS categories
