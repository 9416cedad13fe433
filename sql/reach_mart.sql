-- The `reach` mart's exact counts in plain SQL (DuckDB dialect), per campaign x network.
-- The same definition as reach/audience/distinct.py; tests/test_sql_agreement.py proves they agree.
-- Parameters: {posts}, {shares}, {follows} are lists of the Parquet files of each
-- lake table's current Delta version (etl.lake.Lake.files_sql).
--   first_degree_reach = |F(A) \ A|,  total_reach = |F(A u S) \ A|
WITH camp_posts AS (
    SELECT network, post_id, campaign_id, account_key
    FROM read_parquet({posts}, hive_partitioning = true)
    WHERE campaign_id IS NOT NULL
),
authors AS (
    SELECT DISTINCT campaign_id, network, account_key AS k FROM camp_posts
),
sharers AS (
    SELECT DISTINCT p.campaign_id, s.network, s.sharer_key AS k
    FROM read_parquet({shares}, hive_partitioning = true) AS s
    JOIN camp_posts AS p USING (network, post_id)
),
exposers AS (
    SELECT campaign_id, network, k, bool_or(is_author) AS is_author
    FROM (SELECT *, true AS is_author FROM authors
          UNION ALL SELECT *, false AS is_author FROM sharers)
    GROUP BY ALL
),
reached AS (
    SELECT e.campaign_id, e.network, f.follower_key, bool_or(e.is_author) AS via_author
    FROM exposers AS e
    JOIN read_parquet({follows}, hive_partitioning = true) AS f
      ON f.network = e.network AND f.followee_key = e.k
    GROUP BY ALL
)
SELECT r.campaign_id, r.network,
       count(*) FILTER (WHERE r.via_author) AS first_degree_reach,
       count(*) AS total_reach
FROM reached AS r
ANTI JOIN authors AS a
  ON a.campaign_id = r.campaign_id AND a.network = r.network AND a.k = r.follower_key
GROUP BY ALL
ORDER BY ALL
