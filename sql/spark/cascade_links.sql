-- Each share's parent share, or NULL where it hangs from the root (reach/cascades/trees.py,
-- build_forest): a parent node equal to the post id is the root (the root wins over a
-- share with the same id), and so is a given parent that is no share of the same post.
-- Views in: cascade_parents, shares.  View out: cascade_links (network, post_id, node,
-- node_key, t, parent, reconstructed).
SELECT c.network, c.post_id, c.share_id AS node, c.sharer_key AS node_key, c.created_at AS t,
       CASE WHEN c.parent_node = c.post_id THEN NULL ELSE p.share_id END AS parent,
       c.reconstructed
FROM cascade_parents AS c
LEFT JOIN shares AS p ON p.network = c.network AND p.post_id = c.post_id
                     AND p.share_id = c.parent_node
