-- Approximate distinct reach with Spark's HyperLogLog++ (approx_count_distinct) over
-- the (exposer, follower) pairs, authors removed: no shuffle by person.
-- {rsd}: relative standard deviation; rel_error reports ~95 % (2 x rsd).
-- Views in: exposures, follows.  View out: reach_counts.
SELECT e.campaign_id, e.network,
       approx_count_distinct(CASE WHEN e.is_author THEN f.follower_key END, {rsd})
           AS first_degree_reach,
       approx_count_distinct(f.follower_key, {rsd}) AS total_reach,
       'hll' AS method, 2 * {rsd} AS rel_error
FROM exposures AS e
JOIN follows AS f ON f.network = e.network AND f.followee_key = e.key
LEFT ANTI JOIN exposures AS a
    ON a.campaign_id = e.campaign_id AND a.network = e.network
   AND a.key = f.follower_key AND a.is_author
GROUP BY e.campaign_id, e.network
