-- Exact first-degree and total distinct reach per campaign x network.
-- Views in: reached.  View out: reach_counts.
SELECT campaign_id, network, count_if(via_author) AS first_degree_reach,
       count(*) AS total_reach, 'exact' AS method, 0.0 AS rel_error
FROM reached GROUP BY campaign_id, network
