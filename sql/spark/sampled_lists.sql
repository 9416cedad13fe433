-- Per group with a partial list and per scope ('total': every exposer, 'first': the
-- authors), the partial lists' listed and reported followers and how many there are
-- (reach/audience/sampled.py, from_counts).
-- Views in: sampled_members.  View out: sampled_lists.
SELECT network, grp, 'total' AS scope, sum(listed) AS listed, sum(reported) AS reported,
       count(*) AS accounts
FROM sampled_members WHERE partial GROUP BY network, grp
UNION ALL
SELECT network, grp, 'first' AS scope, sum(listed) AS listed, sum(reported) AS reported,
       count(*) AS accounts
FROM sampled_members WHERE partial AND is_author GROUP BY network, grp
