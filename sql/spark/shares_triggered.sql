-- Shares triggered (reach/cascades/trees.py, shares_triggered): per campaign x network x account,
-- the distinct shares below any of its nodes in the campaign's cascades, its own excluded.
-- Views in: posts, shares, cascade_pairs.  View out: triggered (campaign_id, network,
-- account_key, shares_triggered).
WITH nodes AS (
    SELECT network, post_id, post_id AS node, account_key AS key FROM posts
    UNION ALL
    SELECT network, post_id, share_id, sharer_key FROM shares
)
SELECT p.campaign_id, p.network, n.key AS account_key, count(DISTINCT x.d) AS shares_triggered
FROM cascade_pairs AS x
JOIN nodes AS n ON n.network = x.network AND n.post_id = x.post_id AND n.node = x.a
JOIN posts AS p ON p.network = x.network AND p.post_id = x.post_id
WHERE p.campaign_id IS NOT NULL AND n.key <> x.d_key
GROUP BY p.campaign_id, p.network, n.key
