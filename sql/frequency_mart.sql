-- The `frequency` mart's exact distribution (scope total) in plain SQL (DuckDB dialect),
-- per campaign x network: the same definition as reach/audience/frequency.py, and
-- tests/test_sql_agreement.py proves they agree.
-- Parameters: {posts}, {shares}, {follows} are lists of the Parquet files of each
-- lake table's current Delta version (etl.lake.Lake.files_sql).
--   OTS(u) = the campaign's posts and shares on the network by accounts u follows,
--   over u in F(A u S) \ A.
WITH camp_posts AS (
    SELECT network, post_id, campaign_id, account_key
    FROM read_parquet({posts}, hive_partitioning = true)
    WHERE campaign_id IS NOT NULL
),
authors AS (
    SELECT DISTINCT campaign_id, network, account_key AS k FROM camp_posts
),
items AS (  -- one row per account, with how many posts and shares it made
    SELECT campaign_id, network, k, count(*) AS made
    FROM (SELECT campaign_id, network, account_key AS k FROM camp_posts
          UNION ALL
          SELECT p.campaign_id, s.network, s.sharer_key AS k
          FROM read_parquet({shares}, hive_partitioning = true) AS s
          JOIN camp_posts AS p USING (network, post_id))
    GROUP BY ALL
),
ots AS (
    SELECT i.campaign_id, i.network, f.follower_key AS u, sum(i.made) AS ots
    FROM items AS i
    JOIN read_parquet({follows}, hive_partitioning = true) AS f
      ON f.network = i.network AND f.followee_key = i.k
    GROUP BY ALL
)
SELECT o.campaign_id, o.network,
       count(*) AS reach_1_plus,
       count(*) FILTER (WHERE o.ots >= 3) AS reach_3_plus,
       count(*) FILTER (WHERE o.ots = 1) AS people_1,
       count(*) FILTER (WHERE o.ots = 2) AS people_2,
       count(*) FILTER (WHERE o.ots >= 11) AS people_11_plus,
       sum(o.ots)::BIGINT AS opportunities
FROM ots AS o
ANTI JOIN authors AS a
  ON a.campaign_id = o.campaign_id AND a.network = o.network AND a.k = o.u
GROUP BY ALL
ORDER BY ALL
