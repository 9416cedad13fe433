-- Top amplifiers of one campaign per network: exact Shapley credit of the distinct reach,
-- people only they reached, and the reshares they set off.
-- Parameters: campaign_id (text), max_rank (integer, e.g. 10), bound as :name.
SELECT a.network,
       a.account_id,
       a.role,
       a.shapley_reach,
       a.incremental_reach,
       a.shares_triggered,
       a."rank"
FROM mart_amplifiers AS a
WHERE a.campaign_id = :campaign_id
  AND a."rank" <= :max_rank
ORDER BY a.network, a."rank"
