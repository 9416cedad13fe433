-- Campaign x network exposers (reach/engine/cells.py): authors of the campaign's posts (A) and
-- sharers of those posts (S), each at its first post or share in the campaign.
-- Views in: posts, shares.  View out: exposures.
SELECT campaign_id, network, key, min(t) AS t,
       bool_or(author) AS is_author, bool_or(sharer) AS is_sharer
FROM (
    SELECT campaign_id, network, account_key AS key, created_at AS t,
           true AS author, false AS sharer
    FROM posts WHERE campaign_id IS NOT NULL
    UNION ALL
    SELECT p.campaign_id, s.network, s.sharer_key, s.created_at, false, true
    FROM shares AS s
    JOIN posts AS p ON p.network = s.network AND p.post_id = s.post_id
    WHERE p.campaign_id IS NOT NULL
) AS ev
GROUP BY campaign_id, network, key
