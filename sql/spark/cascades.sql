-- The `cascades` mart (reach/cascades/trees.py, cascade_metrics): per post, its size, depth,
-- widest level, structural virality through the Wiener index W = sum over shares of
-- s * (n - s) (s: the share's subtree, n: nodes with the root), distinct people reached
-- by the root author and every sharer (the author excluded), and its speed.
-- Views in: posts, follows, graph_networks, cascade_tree (network, post_id, node,
-- node_key, t, parent, depth, reconstructed), cascade_pairs (network, post_id, d, d_key, a:
-- every share d with each node a above it, the root included).
WITH below AS (
    SELECT network, post_id, a AS node, count(*) AS descendants
    FROM cascade_pairs GROUP BY network, post_id, a
),
nodes AS (
    SELECT t.network, t.post_id, t.t, t.depth, t.reconstructed,
           1 + coalesce(b.descendants, 0) AS subtree,
           count(*) OVER (PARTITION BY t.network, t.post_id) AS size,
           row_number() OVER (PARTITION BY t.network, t.post_id ORDER BY t.t) AS nth
    FROM cascade_tree AS t
    LEFT JOIN below AS b ON b.network = t.network AND b.post_id = t.post_id AND b.node = t.node
),
per AS (
    SELECT network, post_id, count(*) AS size, max(depth) AS depth,
           sum(subtree * (size + 1 - subtree)) AS wiener, min(t) AS first_share_at,
           max(CASE WHEN nth = (size + 1) DIV 2 THEN t END) AS half_t,
           count_if(reconstructed) AS reconstructed_edges
    FROM nodes GROUP BY network, post_id
),
breadth AS (
    SELECT network, post_id, max(n) AS max_breadth
    FROM (SELECT network, post_id, depth, count(*) AS n FROM cascade_tree
          GROUP BY network, post_id, depth)
    GROUP BY network, post_id
),
exposers AS (
    SELECT network, post_id, account_key AS key FROM posts
    UNION
    SELECT network, post_id, node_key FROM cascade_tree
),
reached AS (
    SELECT e.network, e.post_id, count(DISTINCT f.follower_key) AS total_reach
    FROM exposers AS e
    JOIN posts AS p ON p.network = e.network AND p.post_id = e.post_id
    JOIN follows AS f ON f.network = e.network AND f.followee_key = e.key
    WHERE f.follower_key <> p.account_key
    GROUP BY e.network, e.post_id
)
SELECT p.network, p.post_id, p.campaign_id, p.account_id AS root_account_id,
       coalesce(c.size, 0) AS size, coalesce(c.depth, 0) AS depth,
       coalesce(b.max_breadth, 0) AS max_breadth,
       CASE WHEN c.size > 0
            THEN CAST(c.wiener AS DOUBLE) / ((c.size + 1) * c.size / 2.0D) END
           AS structural_virality,
       CASE WHEN g.network IS NOT NULL THEN coalesce(r.total_reach, 0) END AS total_reach,
       CASE WHEN g.network IS NOT NULL THEN 'exact' ELSE 'no_graph' END AS reach_method,
       CASE WHEN g.network IS NOT NULL THEN coalesce(r.total_reach, 0) END AS total_reach_low,
       CASE WHEN g.network IS NOT NULL THEN coalesce(r.total_reach, 0) END AS total_reach_high,
       c.first_share_at,
       (unix_micros(c.half_t) - unix_micros(p.created_at)) / 1e6D AS time_to_half_s,
       coalesce(c.reconstructed_edges, 0) AS reconstructed_edges
FROM posts AS p
LEFT JOIN per AS c ON c.network = p.network AND c.post_id = p.post_id
LEFT JOIN breadth AS b ON b.network = p.network AND b.post_id = p.post_id
LEFT JOIN reached AS r ON r.network = p.network AND r.post_id = p.post_id
LEFT JOIN graph_networks AS g ON g.network = p.network
