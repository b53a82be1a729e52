-- One row per day: small enough for a copy on every node (DISTSTYLE ALL).
CREATE TABLE IF NOT EXISTS {{ params.schema }}.date (
    dateid SMALLINT NOT NULL,
    caldate DATE NOT NULL,
    day CHAR(3) NOT NULL,
    week SMALLINT NOT NULL,
    month CHAR(5) NOT NULL,
    qtr CHAR(5) NOT NULL,
    year SMALLINT NOT NULL,
    holiday BOOLEAN DEFAULT FALSE
)
DISTSTYLE ALL
SORTKEY (dateid)
