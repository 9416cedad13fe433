-- What the lists show, per group with a partial list (reach/audience/sampled.py,
-- sampled_reach), for two scopes: 'total' (every exposer) and 'first' (the authors). Each
-- person found in a scope's lists falls in one bucket: -2 an author of the group
-- (excluded), -1 on a complete list (counted exactly), else j >= 1, the number of partial
-- lists holding them; per bucket, the people and their entries in partial lists.
-- Views in: sampled_members, follows.  View out: sampled_counts.
WITH found AS (
    SELECT m.network, m.grp, f.follower_key AS person,
           count_if(NOT m.partial) AS complete_total, count_if(m.partial) AS j_total,
           count_if(NOT m.partial AND m.is_author) AS complete_first,
           count_if(m.partial AND m.is_author) AS j_first
    FROM sampled_members AS m
    JOIN follows AS f ON f.network = m.network AND f.followee_key = m.key
    GROUP BY m.network, m.grp, f.follower_key
),
marked AS (
    SELECT f.*, a.key IS NOT NULL AS excluded
    FROM found AS f
    LEFT JOIN (SELECT network, grp, key FROM sampled_members WHERE is_author) AS a
        ON a.network = f.network AND a.grp = f.grp AND a.key = f.person
)
SELECT network, grp, 'total' AS scope,
       CASE WHEN excluded THEN -2 WHEN complete_total > 0 THEN -1 ELSE j_total END AS bucket,
       count(*) AS people, sum(j_total) AS entries
FROM marked
GROUP BY network, grp,
         CASE WHEN excluded THEN -2 WHEN complete_total > 0 THEN -1 ELSE j_total END
UNION ALL
SELECT network, grp, 'first' AS scope,
       CASE WHEN excluded THEN -2 WHEN complete_first > 0 THEN -1 ELSE j_first END AS bucket,
       count(*) AS people, sum(j_first) AS entries
FROM marked
WHERE complete_first + j_first > 0
GROUP BY network, grp,
         CASE WHEN excluded THEN -2 WHEN complete_first > 0 THEN -1 ELSE j_first END
