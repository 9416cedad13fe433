-- The `timeline` mart (reach/audience/timeline.py): each person counted in the bucket of their
-- first reach; hourly buckets, daily when the cell's exposures span more than 14 days.
-- Views in: exposures, reached.
WITH span AS (
    SELECT campaign_id, network,
           CASE WHEN (unix_micros(max(t)) - unix_micros(min(t))) > 14 * 86400000000
                THEN 86400000000 ELSE 3600000000 END AS width
    FROM exposures GROUP BY campaign_id, network
),
buckets AS (
    SELECT r.campaign_id, r.network, s.width,
           floor(unix_micros(r.first_t) / s.width) * s.width AS start_us,
           count(*) AS new_reach
    FROM reached AS r JOIN span AS s USING (campaign_id, network)
    GROUP BY r.campaign_id, r.network, s.width, floor(unix_micros(r.first_t) / s.width)
)
SELECT campaign_id, network, timestamp_micros(CAST(start_us AS BIGINT)) AS bucket_start,
       CASE WHEN width > 3600000000 THEN 'day' ELSE 'hour' END AS bucket,
       new_reach,
       sum(new_reach) OVER (PARTITION BY campaign_id, network ORDER BY start_us) AS cumulative_reach,
       'exact' AS method
FROM buckets
