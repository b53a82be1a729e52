-- One row (check_name, failures) per failed check; no rows means every fact points at existing rows.
SELECT check_name, failures
FROM (
    SELECT 'sales_without_listing' AS check_name, COUNT(*) AS failures
    FROM {{ params.schema }}.sales AS s
    LEFT JOIN {{ params.schema }}.listing AS l ON l.listid = s.listid
    WHERE l.listid IS NULL
    UNION ALL
    SELECT 'sales_without_buyer' AS check_name, COUNT(*) AS failures
    FROM {{ params.schema }}.sales AS s
    LEFT JOIN {{ params.schema }}.users AS u ON u.userid = s.buyerid
    WHERE u.userid IS NULL
    UNION ALL
    SELECT 'listings_without_event' AS check_name, COUNT(*) AS failures
    FROM {{ params.schema }}.listing AS l
    LEFT JOIN {{ params.schema }}.event AS e ON e.eventid = l.eventid
    WHERE e.eventid IS NULL
    UNION ALL
    SELECT 'events_without_category' AS check_name, COUNT(*) AS failures
    FROM {{ params.schema }}.event AS e
    LEFT JOIN {{ params.schema }}.category AS c ON c.catid = e.catid
    WHERE c.catid IS NULL
    UNION ALL
    SELECT 'sales_without_date' AS check_name, COUNT(*) AS failures
    FROM {{ params.schema }}.sales AS s
    LEFT JOIN {{ params.schema }}.date AS d ON d.dateid = s.dateid
    WHERE d.dateid IS NULL
) AS checks
WHERE failures > 0
