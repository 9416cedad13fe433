-- Everyone an exposer reached: F(A u S) \ A per campaign x network, with whether an
-- author reached them (first degree), when they were first reached, and by how many
-- exposers (the coverage game behind Shapley credit).
-- Views in: exposures, follows.  View out: reached.
SELECT e.campaign_id, e.network, f.follower_key AS person_key,
       bool_or(e.is_author) AS via_author,
       min(e.t) AS first_t,
       count(*) AS exposers
FROM exposures AS e
JOIN follows AS f ON f.network = e.network AND f.followee_key = e.key
LEFT ANTI JOIN exposures AS a
    ON a.campaign_id = e.campaign_id AND a.network = e.network
   AND a.key = f.follower_key AND a.is_author
GROUP BY e.campaign_id, e.network, f.follower_key
