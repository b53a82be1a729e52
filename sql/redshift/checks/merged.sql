-- One row (check_name, failures) per failed check; no rows means the merge of the staged rows is sound.
SELECT check_name, failures
FROM (
    SELECT 'staging_empty' AS check_name, CASE WHEN COUNT(*) = 0 THEN 1 ELSE 0 END AS failures
    FROM {{ params.schema }}.{{ params.staging_table }}
    UNION ALL
    SELECT 'duplicate_keys' AS check_name, COUNT(*) AS failures
    FROM (
        SELECT {{ params.key }}
        FROM {{ params.schema }}.{{ params.table }}
        GROUP BY {{ params.key }}
        HAVING COUNT(*) > 1
    ) AS duplicated
    UNION ALL
    -- Every staged row is in the target with exactly the staged values.
    SELECT 'staged_rows_not_in_target' AS check_name, COUNT(*) AS failures
    FROM (
        SELECT * FROM {{ params.schema }}.{{ params.staging_table }}
        EXCEPT
        SELECT * FROM {{ params.schema }}.{{ params.table }}
    ) AS missing
{%- if params.event_time %}{{ require_data_interval() }}
    UNION ALL
    -- An increment holds its day's new rows and changes to earlier rows, never rows from after the interval.
    SELECT 'staged_rows_after_interval' AS check_name, COUNT(*) AS failures
    FROM {{ params.schema }}.{{ params.staging_table }}
    WHERE {{ params.event_time }} >= CAST('{{ data_interval_end.strftime("%Y-%m-%d %H:%M:%S") }}' AS TIMESTAMP)
{%- endif %}
) AS checks
WHERE failures > 0
