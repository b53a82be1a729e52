"""The TICKIT sample schema: table names in load order (dimensions before facts), keys and event times."""

SCHEMA = "tickit"
DIMENSIONS = ("users", "venue", "category", "date", "event")
FACTS = ("listing", "sales")
TABLES = DIMENSIONS + FACTS

# The column that identifies a row: the merge replaces target rows that share it with a staged row.
PRIMARY_KEYS = {
    "users": "userid",
    "venue": "venueid",
    "category": "catid",
    "date": "dateid",
    "event": "eventid",
    "listing": "listid",
    "sales": "salesid",
}

# Tables loaded incrementally, with the timestamp that places a row in a data interval.
EVENT_TIME_COLUMNS = {"listing": "listtime", "sales": "saletime"}
INCREMENTAL_TABLES = tuple(EVENT_TIME_COLUMNS)
