CREATE TABLE IF NOT EXISTS {{ params.schema }}.event (
    eventid INTEGER NOT NULL,
    venueid SMALLINT NOT NULL,
    catid SMALLINT NOT NULL,
    dateid SMALLINT NOT NULL,
    eventname VARCHAR(200),
    starttime TIMESTAMP
)
DISTKEY (eventid)
SORTKEY (dateid)
