CREATE TABLE IF NOT EXISTS {{ params.schema }}.sales (
    salesid INTEGER NOT NULL,
    listid INTEGER NOT NULL DISTKEY,
    sellerid INTEGER NOT NULL,
    buyerid INTEGER NOT NULL,
    eventid INTEGER NOT NULL,
    dateid SMALLINT NOT NULL SORTKEY,
    qtysold SMALLINT NOT NULL,
    pricepaid DECIMAL(8, 2),
    commission DECIMAL(8, 2),
    saletime TIMESTAMP
);
