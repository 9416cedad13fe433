-- The `reach` mart per campaign x network (reach/audience/distinct.py; docs/marts.md).
-- Views in: posts, exposures, reach_counts, accounts, in_degree, graph_networks.
WITH cells AS (
    SELECT campaign_id, network, count(*) AS posts
    FROM posts WHERE campaign_id IS NOT NULL GROUP BY campaign_id, network
),
roles AS (
    SELECT e.campaign_id, e.network,
           count_if(e.is_author) AS authors, count_if(e.is_sharer) AS sharers,
           sum(coalesce(a.followers_count,
                        CASE WHEN g.network IS NOT NULL THEN coalesce(d.in_degree, 0) END))
               AS potential_reach
    FROM exposures AS e
    LEFT JOIN accounts AS a ON a.network = e.network AND a.account_key = e.key
    LEFT JOIN in_degree AS d ON d.network = e.network AND d.followee_key = e.key
    LEFT JOIN graph_networks AS g ON g.network = e.network
    GROUP BY e.campaign_id, e.network
),
counts AS (SELECT * FROM reach_counts)
SELECT c.campaign_id, c.network, c.posts, r.authors, r.sharers,
       CASE WHEN g.network IS NOT NULL THEN coalesce(n.first_degree_reach, 0) END
           AS first_degree_reach,
       CASE WHEN g.network IS NOT NULL
            THEN coalesce(n.total_reach, 0) - coalesce(n.first_degree_reach, 0) END
           AS second_degree_reach,
       CASE WHEN g.network IS NOT NULL THEN coalesce(n.total_reach, 0) END AS total_reach,
       r.potential_reach,
       CASE WHEN g.network IS NOT NULL AND r.potential_reach > 0
            THEN coalesce(n.total_reach, 0) / r.potential_reach END AS dedup_ratio,
       CASE WHEN g.network IS NULL THEN 'no_graph' ELSE n.method END AS method,
       CASE WHEN g.network IS NOT NULL THEN coalesce(n.rel_error, 0.0) END AS rel_error,
       CASE WHEN g.network IS NOT NULL
            THEN CAST(floor(coalesce(n.total_reach, 0) * (1 - coalesce(n.rel_error, 0.0))) AS BIGINT)
       END AS total_reach_low,
       CASE WHEN g.network IS NOT NULL
            THEN CAST(ceil(coalesce(n.total_reach, 0) * (1 + coalesce(n.rel_error, 0.0))) AS BIGINT)
       END AS total_reach_high,
       CAST(NULL AS DOUBLE) AS listed_share  -- set on the driver where lists are partial
FROM cells AS c
JOIN roles AS r USING (campaign_id, network)
LEFT JOIN counts AS n USING (campaign_id, network)
LEFT JOIN graph_networks AS g ON g.network = c.network
