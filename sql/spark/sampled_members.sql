-- The exposers of every group (a campaign x network cell, or a cascade) that holds at least
-- one partial list, each with whether its own list is partial, and the list's counts.
-- Views in: estimate_groups (network, grp, key, is_author; one row per key and group),
-- partial_lists.  View out: sampled_members.
WITH sampled AS (
    SELECT DISTINCT e.network, e.grp
    FROM estimate_groups AS e
    JOIN partial_lists AS p ON p.network = e.network AND p.account_key = e.key
)
SELECT e.network, e.grp, e.key, e.is_author, p.account_key IS NOT NULL AS partial,
       p.listed, p.reported
FROM estimate_groups AS e
JOIN sampled AS s ON s.network = e.network AND s.grp = e.grp
LEFT JOIN partial_lists AS p ON p.network = e.network AND p.account_key = e.key
