-- Accounts whose list in follows holds fewer followers than the followers_count they report
-- (reach/audience/sampled.py, partial_lists): their list is a sample of their followers.
-- Views in: accounts, in_degree, graph_networks.  View out: partial_lists.
SELECT a.network, a.account_key, coalesce(d.in_degree, 0) AS listed,
       a.followers_count AS reported
FROM accounts AS a
JOIN graph_networks AS g ON g.network = a.network
LEFT JOIN in_degree AS d ON d.network = a.network AND d.followee_key = a.account_key
WHERE a.followers_count IS NOT NULL AND coalesce(d.in_degree, 0) < a.followers_count
