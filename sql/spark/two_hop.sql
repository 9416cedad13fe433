-- The `two_hop` mart (reach/followers/two_hop.py) for every brand account and campaign author:
-- first_degree = |F({a}) \ {a}|, two_hop_audience = |F(F({a})) u F({a})| minus a; what the
-- lists show ('listed_only') where a's list, or a follower's, is partial.
-- Views in: accounts, posts, follows, graph_networks, partial_lists.
WITH subjects AS (
    SELECT DISTINCT network, account_key, account_id FROM accounts WHERE coalesce(is_brand, false)
    UNION
    SELECT DISTINCT network, account_key, account_id FROM posts WHERE campaign_id IS NOT NULL
),
first AS (
    SELECT s.network, s.account_key AS me, f.follower_key AS who
    FROM subjects AS s JOIN follows AS f ON f.network = s.network AND f.followee_key = s.account_key
),
second AS (
    SELECT a.network, a.me, f.follower_key AS who
    FROM first AS a JOIN follows AS f ON f.network = a.network AND f.followee_key = a.who
),
both_ AS (
    SELECT network, me, who, true AS is_first FROM first
    UNION ALL
    SELECT network, me, who, false FROM second
),
listed_only AS (
    SELECT DISTINCT s.network, s.account_key AS me FROM subjects AS s
    JOIN partial_lists AS p ON p.network = s.network AND p.account_key = s.account_key
    UNION
    SELECT DISTINCT a.network, a.me FROM first AS a
    JOIN partial_lists AS p ON p.network = a.network AND p.account_key = a.who
    WHERE a.who <> a.me
),
counts AS (
    SELECT network, me, count(DISTINCT CASE WHEN is_first THEN who END) AS first_degree,
           count(DISTINCT who) AS two_hop_audience
    FROM both_ WHERE who <> me GROUP BY network, me
)
SELECT s.network, s.account_id,
       CASE WHEN g.network IS NOT NULL THEN coalesce(c.first_degree, 0) END AS first_degree,
       CASE WHEN g.network IS NOT NULL THEN coalesce(c.two_hop_audience, 0) END AS two_hop_audience,
       CASE WHEN g.network IS NULL THEN 'no_graph' WHEN l.me IS NOT NULL THEN 'listed_only'
            ELSE 'exact' END AS method
FROM subjects AS s
LEFT JOIN counts AS c ON c.network = s.network AND c.me = s.account_key
LEFT JOIN listed_only AS l ON l.network = s.network AND l.me = s.account_key
LEFT JOIN graph_networks AS g ON g.network = s.network
