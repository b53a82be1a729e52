"""The TICKIT sample schema: table names in load order (dimensions before facts)."""

SCHEMA = "tickit"
DIMENSIONS = ("users", "venue", "category", "date", "event")
FACTS = ("listing", "sales")
TABLES = DIMENSIONS + FACTS
