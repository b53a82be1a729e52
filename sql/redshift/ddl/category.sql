-- Eleven rows: a copy on every node (DISTSTYLE ALL) makes every join to it local.
CREATE TABLE IF NOT EXISTS {{ params.schema }}.category (
    catid SMALLINT NOT NULL,
    catgroup VARCHAR(10),
    catname VARCHAR(10),
    catdesc VARCHAR(50)
)
DISTSTYLE ALL
SORTKEY (catid)
