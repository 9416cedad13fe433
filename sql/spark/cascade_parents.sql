-- Every share's parent node (reach/cascades/trees.py): the given parent_id, else the sharer's
-- most recent earlier exposer among the accounts it follows on that post's cascade (the
-- root author at the post's time or an earlier sharer; ties: smallest account_id, then
-- node id), else the root post.
-- Views in: posts, shares, follows.  View out: cascade_parents (share_id, network, post_id,
-- sharer_key, created_at, parent_node, reconstructed).
WITH nodes AS (
    SELECT network, post_id, post_id AS node_id, account_key, account_id, created_at AS t
    FROM posts
    UNION ALL
    SELECT network, post_id, share_id, sharer_key, sharer_id, created_at FROM shares
),
candidates AS (
    SELECT s.network, s.share_id, n.node_id,
           row_number() OVER (PARTITION BY s.network, s.share_id
                              ORDER BY n.t DESC, n.account_id, n.node_id) AS pick
    FROM shares AS s
    JOIN follows AS f ON f.network = s.network AND f.follower_key = s.sharer_key
    JOIN nodes AS n ON n.network = s.network AND n.post_id = s.post_id
                   AND n.account_key = f.followee_key AND n.t < s.created_at
    WHERE s.parent_id IS NULL
)
SELECT s.network, s.post_id, s.share_id, s.sharer_key, s.created_at,
       coalesce(s.parent_id, c.node_id, s.post_id) AS parent_node,
       s.parent_id IS NULL AS reconstructed
FROM shares AS s
LEFT JOIN candidates AS c ON c.network = s.network AND c.share_id = s.share_id AND c.pick = 1
