"""Glue job (Glue 4.0, PySpark): one raw TICKIT table -> typed Parquet in the refined zone.

The raw files are headerless, pipe-delimited text, so the crawler names their columns col0, col1, ...;
this job gives them the names and types of the TICKIT schema (those of sql/redshift/ddl/, a test keeps the
two in step), turns empty fields into NULL and overwrites the table's refined folder.

Job arguments: --table (a TICKIT table), --raw_database (Glue database of the crawled raw tables),
--target_path (s3:// folder of the refined table).
"""

import sys

# Column names and Spark SQL types per table, in file order.
COLUMNS = {
    "users": (
        ("userid", "int"),
        ("username", "string"),
        ("firstname", "string"),
        ("lastname", "string"),
        ("city", "string"),
        ("state", "string"),
        ("email", "string"),
        ("phone", "string"),
        ("likesports", "boolean"),
        ("liketheatre", "boolean"),
        ("likeconcerts", "boolean"),
        ("likejazz", "boolean"),
        ("likeclassical", "boolean"),
        ("likeopera", "boolean"),
        ("likerock", "boolean"),
        ("likevegas", "boolean"),
        ("likebroadway", "boolean"),
        ("likemusicals", "boolean"),
    ),
    "venue": (
        ("venueid", "smallint"),
        ("venuename", "string"),
        ("venuecity", "string"),
        ("venuestate", "string"),
        ("venueseats", "int"),
    ),
    "category": (
        ("catid", "smallint"),
        ("catgroup", "string"),
        ("catname", "string"),
        ("catdesc", "string"),
    ),
    "date": (
        ("dateid", "smallint"),
        ("caldate", "date"),
        ("day", "string"),
        ("week", "smallint"),
        ("month", "string"),
        ("qtr", "string"),
        ("year", "smallint"),
        ("holiday", "boolean"),
    ),
    "event": (
        ("eventid", "int"),
        ("venueid", "smallint"),
        ("catid", "smallint"),
        ("dateid", "smallint"),
        ("eventname", "string"),
        ("starttime", "timestamp"),
    ),
    "listing": (
        ("listid", "int"),
        ("sellerid", "int"),
        ("eventid", "int"),
        ("dateid", "smallint"),
        ("numtickets", "smallint"),
        ("priceperticket", "decimal(8,2)"),
        ("totalprice", "decimal(8,2)"),
        ("listtime", "timestamp"),
    ),
    "sales": (
        ("salesid", "int"),
        ("listid", "int"),
        ("sellerid", "int"),
        ("buyerid", "int"),
        ("eventid", "int"),
        ("dateid", "smallint"),
        ("qtysold", "smallint"),
        ("pricepaid", "decimal(8,2)"),
        ("commission", "decimal(8,2)"),
        ("saletime", "timestamp"),
    ),
}


def select_expressions(table: str) -> list[str]:
    """Spark SQL expressions turning the crawled columns col0..colN into the table's typed columns."""
    if table not in COLUMNS:
        raise ValueError(f"unknown TICKIT table {table!r}: expected one of {sorted(COLUMNS)}")
    return [
        f"CAST(NULLIF(TRIM(CAST(col{position} AS STRING)), '') AS {spark_type}) AS {name}"
        for position, (name, spark_type) in enumerate(COLUMNS[table])
    ]


def main() -> None:
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    args = getResolvedOptions(sys.argv, ["JOB_NAME", "table", "raw_database", "target_path"])
    glue = GlueContext(SparkContext.getOrCreate())
    job = Job(glue)
    job.init(args["JOB_NAME"], args)
    raw = glue.create_dynamic_frame.from_catalog(database=args["raw_database"], table_name=args["table"])
    refined = raw.toDF().selectExpr(*select_expressions(args["table"]))
    refined.write.mode("overwrite").parquet(args["target_path"])
    job.commit()


if __name__ == "__main__":
    main()
