-- The `amplifiers` mart (reach/cascades/amplifiers.py, reach/cascades/credit.py): each exposer's exact
-- Shapley credit of the coverage game, sum over the people it reached of
-- 1 / (exposers reaching them), people only it reached, the shares it triggered.
-- Views in: exposures, follows, reached, account_keys, triggered, graph_networks.
WITH credit AS (
    SELECT e.campaign_id, e.network, e.key,
           sum(1.0D / r.exposers) AS shapley_reach,
           count_if(r.exposers = 1) AS incremental_reach
    FROM exposures AS e
    JOIN follows AS f ON f.network = e.network AND f.followee_key = e.key
    JOIN reached AS r ON r.campaign_id = e.campaign_id AND r.network = e.network
                     AND r.person_key = f.follower_key
    GROUP BY e.campaign_id, e.network, e.key
),
rows_ AS (
    SELECT e.campaign_id, e.network, k.account_id,
           CASE WHEN e.is_author THEN 'author' ELSE 'sharer' END AS role,
           coalesce(t.shares_triggered, 0) AS shares_triggered,
           CASE WHEN g.network IS NOT NULL THEN coalesce(c.incremental_reach, 0) END
               AS incremental_reach,
           CASE WHEN g.network IS NOT NULL THEN coalesce(c.shapley_reach, 0.0D) END
               AS shapley_reach,
           CASE WHEN g.network IS NOT NULL THEN 'exact' ELSE 'no_graph' END AS method
    FROM exposures AS e
    JOIN account_keys AS k ON k.network = e.network AND k.account_key = e.key
    LEFT JOIN credit AS c ON c.campaign_id = e.campaign_id AND c.network = e.network
                         AND c.key = e.key
    LEFT JOIN triggered AS t ON t.campaign_id = e.campaign_id AND t.network = e.network
                            AND t.account_key = e.key
    LEFT JOIN graph_networks AS g ON g.network = e.network
)
SELECT *, row_number() OVER (PARTITION BY campaign_id, network
                             ORDER BY round(coalesce(shapley_reach, 0.0D), 9) DESC,
                                      shares_triggered DESC, account_id) AS rank
FROM rows_
