SELECT
    c.catgroup,
    c.catname,
    e.eventid,
    e.eventname,
    s.sellerid,
    seller.username AS seller_username,
    s.buyerid,
    buyer.username AS buyer_username,
    COUNT(*) AS sales,
    SUM(s.qtysold) AS tickets_sold,
    SUM(s.pricepaid) AS sale_amount,
    SUM(s.commission) AS commission,
    ROUND(100 * SUM(s.commission) / NULLIF(SUM(s.pricepaid), 0), 2) AS commission_pct
FROM {{ params.schema }}.sales AS s
JOIN {{ params.schema }}.event AS e ON e.eventid = s.eventid
JOIN {{ params.schema }}.category AS c ON c.catid = e.catid
JOIN {{ params.schema }}.users AS seller ON seller.userid = s.sellerid
JOIN {{ params.schema }}.users AS buyer ON buyer.userid = s.buyerid
GROUP BY c.catgroup, c.catname, e.eventid, e.eventname, s.sellerid, seller.username, s.buyerid, buyer.username
