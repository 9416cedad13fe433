-- Reach funnel of one campaign by network: what others would report (potential), the
-- distinct people actually reached, and how many of them only reshares brought.
-- Parameters: campaign_id (text), bound as :campaign_id.
SELECT r.network,
       r.potential_reach,
       r.total_reach,
       r.first_degree_reach,
       r.second_degree_reach,
       CASE WHEN r.total_reach > 0
            THEN CAST(r.second_degree_reach AS DOUBLE PRECISION) / r.total_reach
       END AS second_degree_share,
       r.dedup_ratio
FROM mart_reach AS r
WHERE r.campaign_id = :campaign_id
ORDER BY CASE WHEN r.network = 'all' THEN 1 ELSE 0 END, r.network
