-- Campaign comparison: distinct people reached across networks, beside the potential
-- reach that commercial suites report (a sum of follower counts).
-- Parameters: none.  Portable: SQLite and PostgreSQL.
SELECT r.campaign_id,
       COALESCE(c.name, r.campaign_id) AS campaign_name,
       r.posts,
       r.first_degree_reach,
       r.second_degree_reach,
       r.total_reach,
       r.potential_reach,
       r.dedup_ratio
FROM mart_reach AS r
LEFT JOIN dim_campaigns AS c ON c.campaign_id = r.campaign_id
WHERE r.network = 'all'
ORDER BY (r.total_reach IS NULL), r.total_reach DESC, r.campaign_id
