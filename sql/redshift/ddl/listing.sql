-- listing and sales share the distribution key listid, so joining them never moves rows between nodes.
CREATE TABLE IF NOT EXISTS {{ params.schema }}.listing (
    listid INTEGER NOT NULL,
    sellerid INTEGER NOT NULL,
    eventid INTEGER NOT NULL,
    dateid SMALLINT NOT NULL,
    numtickets SMALLINT NOT NULL,
    priceperticket DECIMAL(8, 2),
    totalprice DECIMAL(8, 2),
    listtime TIMESTAMP
)
DISTKEY (listid)
SORTKEY (dateid)
