CREATE TABLE IF NOT EXISTS {{ params.schema }}.venue (
    venueid SMALLINT NOT NULL,
    venuename VARCHAR(100),
    venuecity VARCHAR(30),
    venuestate CHAR(2),
    venueseats INTEGER
)
DISTKEY (venueid)
SORTKEY (venueid)
