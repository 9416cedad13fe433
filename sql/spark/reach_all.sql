-- The `reach` mart's cross-network rows (network = 'all'): each person once, by
-- person_id where accounts carry one, else by account; authors' persons excluded on
-- every network. Exact only when every network cell of the campaign is.
-- Views in: reach_cells, exposures, reached, accounts.
WITH ident AS (
    SELECT network, account_key,
           CASE WHEN person_id IS NOT NULL THEN concat('p:', person_id)
                ELSE concat('a:', network, ':', CAST(account_key AS STRING)) END AS who
    FROM accounts
),
author_people AS (
    SELECT DISTINCT e.campaign_id, i.who
    FROM exposures AS e JOIN ident AS i ON i.network = e.network AND i.account_key = e.key
    WHERE e.is_author
),
people AS (
    SELECT r.campaign_id, i.who, bool_or(r.via_author) AS via_author
    FROM reached AS r JOIN ident AS i ON i.network = r.network AND i.account_key = r.person_key
    GROUP BY r.campaign_id, i.who
),
counts AS (
    SELECT p.campaign_id, count_if(p.via_author) AS first_degree_reach, count(*) AS total_reach
    FROM people AS p LEFT ANTI JOIN author_people AS a
        ON a.campaign_id = p.campaign_id AND a.who = p.who
    GROUP BY p.campaign_id
),
roles AS (
    SELECT e.campaign_id,
           count(DISTINCT CASE WHEN e.is_author THEN i.who END) AS authors,
           count(DISTINCT CASE WHEN e.is_sharer THEN i.who END) AS sharers
    FROM exposures AS e JOIN ident AS i ON i.network = e.network AND i.account_key = e.key
    GROUP BY e.campaign_id
),
cells AS (
    SELECT campaign_id, sum(posts) AS posts, sum(authors) AS sum_authors,
           sum(sharers) AS sum_sharers, coalesce(sum(potential_reach), 0) AS potential_reach,
           count_if(method = 'exact') AS exact, count(*) AS n
    FROM reach_cells GROUP BY campaign_id
)
SELECT c.campaign_id, 'all' AS network, c.posts,
       CASE WHEN c.exact = c.n THEN r.authors ELSE c.sum_authors END AS authors,
       CASE WHEN c.exact = c.n THEN r.sharers ELSE c.sum_sharers END AS sharers,
       CASE WHEN c.exact = c.n THEN coalesce(n.first_degree_reach, 0) END AS first_degree_reach,
       CASE WHEN c.exact = c.n THEN coalesce(n.total_reach, 0) - coalesce(n.first_degree_reach, 0)
       END AS second_degree_reach,
       CASE WHEN c.exact = c.n THEN coalesce(n.total_reach, 0) END AS total_reach,
       c.potential_reach,
       CASE WHEN c.exact = c.n AND c.potential_reach > 0
            THEN coalesce(n.total_reach, 0) / c.potential_reach END AS dedup_ratio,
       CASE WHEN c.exact = c.n THEN 'exact' WHEN c.exact = 0 THEN 'no_graph'
            ELSE 'partial' END AS method,
       CASE WHEN c.exact = c.n THEN 0.0 END AS rel_error,
       CASE WHEN c.exact = c.n THEN coalesce(n.total_reach, 0) END AS total_reach_low,
       CASE WHEN c.exact = c.n THEN coalesce(n.total_reach, 0) END AS total_reach_high,
       CAST(NULL AS DOUBLE) AS listed_share
FROM cells AS c
JOIN roles AS r USING (campaign_id)
LEFT JOIN counts AS n USING (campaign_id)
