CREATE TABLE IF NOT EXISTS {{ params.schema }}.category (
    catid SMALLINT NOT NULL DISTKEY SORTKEY,
    catgroup VARCHAR(10),
    catname VARCHAR(10),
    catdesc VARCHAR(50)
);
