"""Brute-force reference implementations of every mart, with plain Python sets.

Independent of the engine: string ids, dicts and sets, networkx for tree distances,
and Shapley values by enumerating every ordering of the players.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from datetime import datetime

import networkx as nx


def followers(tables) -> dict[tuple[str, str], set[str]]:
    f = defaultdict(set)
    for r in tables["follows"]:
        f[(r["network"], r["followee_id"])].add(r["follower_id"])
    return f


def graph_networks(tables) -> set[str]:
    return {r["network"] for r in tables["follows"]}


def ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def cells(tables):
    """(campaign, network) -> (authors, sharers, posts count)."""
    post_campaign = {(p["network"], p["post_id"]): p["campaign_id"] for p in tables["posts"]}
    out = defaultdict(lambda: [set(), set(), 0])
    for p in tables["posts"]:
        if p["campaign_id"]:
            c = out[(p["campaign_id"], p["network"])]
            c[0].add(p["account_id"])
            c[2] += 1
    for s in tables["shares"]:
        cid = post_campaign[(s["network"], s["post_id"])]
        if cid:
            out[(cid, s["network"])][1].add(s["sharer_id"])
    return out


def union(F, net, accounts) -> set[str]:
    u = set()
    for a in accounts:
        u |= F.get((net, a), set())
    return u


def reach(tables):
    F = followers(tables)
    nets = graph_networks(tables)
    counts = {(a["network"], a["account_id"]): a["followers_count"] for a in tables["accounts"]}
    out = {}
    for (cid, net), (A, S, n_posts) in cells(tables).items():
        known = [counts.get((net, e)) if counts.get((net, e)) is not None
                 else (len(F.get((net, e), ())) if net in nets else None) for e in A | S]
        known = [k for k in known if k is not None]
        pot = sum(known) if known else None
        row = {"posts": n_posts, "authors": len(A), "sharers": len(S), "potential_reach": pot}
        if net in nets:
            first = union(F, net, A) - A
            total = union(F, net, A | S) - A
            row |= {"first_degree_reach": len(first), "total_reach": len(total),
                    "second_degree_reach": len(total) - len(first)}
        out[(cid, net)] = row
    return out


def reach_all(tables):
    """Cross-network rows, people identified by person_id where known."""
    F = followers(tables)
    person = {(a["network"], a["account_id"]): a["person_id"] for a in tables["accounts"]}

    def who(net, a):
        return person.get((net, a)) or f"{net}:{a}"
    by_c = defaultdict(dict)
    for (cid, net), (A, S, _) in cells(tables).items():
        by_c[cid][net] = (A, S)
    out = {}
    for cid, nets in by_c.items():
        if not set(nets) <= graph_networks(tables):
            continue
        authors = {who(n, a) for n, (A, _) in nets.items() for a in A}
        first = {who(n, u) for n, (A, _) in nets.items() for u in union(F, n, A) - A}
        total = {who(n, u) for n, (A, S) in nets.items() for u in union(F, n, A | S) - A}
        out[cid] = (len(first - authors), len(total - authors))
    return out


def shapley_by_permutation(players, value):
    """Shapley values by definition: average marginal contribution over all orderings."""
    phi = dict.fromkeys(players, 0.0)
    perms = list(itertools.permutations(players))
    for order in perms:
        before = []
        for p in order:
            phi[p] += value(before + [p]) - value(before)
            before.append(p)
    return {p: v / len(perms) for p, v in phi.items()}


def amplifiers(tables, max_players_for_permutations=6):
    F = followers(tables)
    nets = graph_networks(tables)
    out = {}
    for (cid, net), (A, S, _) in cells(tables).items():
        if net not in nets:
            continue
        E = sorted(A | S)

        def value(coalition, A=A, net=net):
            return len(union(F, net, coalition) - A)
        if len(E) <= max_players_for_permutations:
            phi = shapley_by_permutation(E, value)
        else:  # closed form of the coverage game, computed independently with sets
            reached = union(F, net, E) - A
            phi = {e: sum(1 / sum(u in F.get((net, x), ()) for x in E)
                          for u in F.get((net, e), set()) - A) for e in E}
            assert abs(sum(phi.values()) - len(reached)) < 1e-9
        others = {e: union(F, net, [x for x in E if x != e]) for e in E}
        inc = {e: len((F.get((net, e), set()) - A) - others[e]) for e in E}
        for e in E:
            out[(cid, net, e)] = (phi[e], inc[e])
    return out


def cascade_trees(tables):
    """(network, post_id) -> (networkx tree rooted at post_id, reconstructed count)."""
    F = followers(tables)
    out = {}
    shares_by_post = defaultdict(list)
    for s in tables["shares"]:
        shares_by_post[(s["network"], s["post_id"])].append(s)
    for p in tables["posts"]:
        net, pid = p["network"], p["post_id"]
        nodes = [(pid, p["account_id"], ts(p["created_at"]))] + [
            (s["share_id"], s["sharer_id"], ts(s["created_at"]))
            for s in shares_by_post[(net, pid)]]
        T = nx.DiGraph()
        T.add_node(pid)
        recon = 0
        parent_of = {}
        for s in shares_by_post[(net, pid)]:
            if s["parent_id"]:
                parent_of[s["share_id"]] = s["parent_id"]
                continue
            recon += 1
            t = ts(s["created_at"])
            cands = [(n, a, nt) for n, a, nt in nodes
                     if nt < t and s["sharer_id"] in F.get((net, a), ())]
            if cands:
                best = max(nt for _, _, nt in cands)
                tied = sorted((a, n) for n, a, nt in cands if nt == best)
                parent_of[s["share_id"]] = tied[0][1]
            else:
                parent_of[s["share_id"]] = pid
        for child in list(parent_of):  # given-parent cycles go to the root
            seen, cur = set(), child
            while cur != pid and cur not in seen:
                seen.add(cur)
                cur = parent_of[cur]
            if cur != pid:
                parent_of[child] = pid
                recon += 1
        for child, par in parent_of.items():
            T.add_edge(par, child)
        out[(net, pid)] = (T, recon, nodes)
    return out


def cascades(tables):
    F = followers(tables)
    nets = graph_networks(tables)
    out = {}
    for (net, pid), (T, recon, nodes) in cascade_trees(tables).items():
        depths = nx.shortest_path_length(T, pid)
        size = T.number_of_nodes() - 1
        breadth = defaultdict(int)
        for d in depths.values():
            if d > 0:
                breadth[d] += 1
        sv = (nx.average_shortest_path_length(T.to_undirected()) if size > 0 else None)
        author = nodes[0][1]
        reach_ = (len(union(F, net, {a for _, a, _ in nodes}) - {author})
                  if net in nets else None)
        share_times = sorted(t for _, _, t in nodes[1:])
        half = ((share_times[math.ceil(size / 2) - 1] - nodes[0][2]).total_seconds()
                if size else None)
        out[(net, pid)] = {"size": size, "depth": max(depths.values()),
                           "max_breadth": max(breadth.values(), default=0),
                           "structural_virality": sv, "total_reach": reach_,
                           "reconstructed_edges": recon, "time_to_half_s": half}
    return out


def shares_triggered(tables):
    """(campaign, network, account) -> distinct shares below its nodes, own excluded."""
    trees = cascade_trees(tables)
    post_campaign = {(p["network"], p["post_id"]): p["campaign_id"] for p in tables["posts"]}
    out = defaultdict(set)
    for (net, pid), (T, _, nodes) in trees.items():
        cid = post_campaign[(net, pid)]
        if not cid:
            continue
        account = {n: a for n, a, _ in nodes}
        for n in T.nodes:
            for d in nx.descendants(T, n):
                if account[d] != account[n]:
                    out[(cid, net, account[n])].add(d)
    return {k: len(v) for k, v in out.items()}


def two_hop(tables, account):
    F = followers(tables)
    net, a = account
    first = F.get((net, a), set())
    second = union(F, net, first)
    return len(first - {a}), len((first | second) - {a})


def conversion_touches(tables, window_days: float = 30):
    """Per conversion (network, account, converted_at): its touchpoints [(time, campaign)].

    A touch is a post or share of a campaign post by an account the converter follows,
    before the conversion and within the window.
    """
    from datetime import timedelta
    post_campaign = {(p["network"], p["post_id"]): p["campaign_id"] for p in tables["posts"]}
    events = [(p["network"], p["account_id"], p["campaign_id"], ts(p["created_at"]))
              for p in tables["posts"] if p["campaign_id"]]
    events += [(s["network"], s["sharer_id"], post_campaign[(s["network"], s["post_id"])],
                ts(s["created_at"])) for s in tables["shares"]
               if post_campaign[(s["network"], s["post_id"])]]
    follows = defaultdict(set)
    for r in tables["follows"]:
        follows[(r["network"], r["follower_id"])].add(r["followee_id"])
    out = {}
    for c in tables.get("conversions", []):
        t = ts(c["converted_at"])
        seen = follows[(c["network"], c["account_id"])]
        out[(c["network"], c["account_id"], t)] = sorted(
            (te, cid) for net, who, cid, te in events
            if net == c["network"] and who in seen and t - timedelta(days=window_days) <= te < t)
    return out


def linear_credit(tables) -> dict[str, float]:
    """Linear attribution by campaign @ network: each touch gets 1/n of its conversion."""
    credit = defaultdict(float)
    for (net, _a, _t), touches in conversion_touches(tables).items():
        if not touches:
            credit["(no touchpoint)"] += 1
        for _te, cid in touches:
            credit[f"{cid} @ {net}"] += 1 / len(touches)
    return dict(credit)


def first_last_credit(tables) -> tuple[dict[str, float], dict[str, float]]:
    first, last = defaultdict(float), defaultdict(float)
    for (net, _a, _t), touches in conversion_touches(tables).items():
        if not touches:
            first["(no touchpoint)"] += 1
            last["(no touchpoint)"] += 1
            continue
        first[f"{touches[0][1]} @ {net}"] += 1
        last[f"{touches[-1][1]} @ {net}"] += 1
    return dict(first), dict(last)


def nonconverting_touches(tables) -> dict[tuple[str, str], list]:
    """(network, account) never converting there -> sorted [(time, campaign)]: one touch per
    exposer of a campaign it follows, at the exposer's first post or share in the campaign."""
    post_campaign = {(p["network"], p["post_id"]): p["campaign_id"] for p in tables["posts"]}
    first = {}
    for p in tables["posts"]:
        if p["campaign_id"]:
            k = (p["network"], p["campaign_id"], p["account_id"])
            first[k] = min(first.get(k, ts(p["created_at"])), ts(p["created_at"]))
    for s in tables["shares"]:
        cid = post_campaign[(s["network"], s["post_id"])]
        if cid:
            k = (s["network"], cid, s["sharer_id"])
            first[k] = min(first.get(k, ts(s["created_at"])), ts(s["created_at"]))
    F = followers(tables)
    converted = {(c["network"], c["account_id"]) for c in tables.get("conversions", [])}
    out = defaultdict(list)
    for (net, cid, exposer), t in first.items():
        for u in F.get((net, exposer), ()):
            if (net, u) not in converted:
                out[(net, u)].append((t, cid))
    return {k: sorted(v) for k, v in out.items()}


def campaign_items(tables):
    """(campaign, network) -> [(account, is_post, created_at)] for posts and shares."""
    post_campaign = {(p["network"], p["post_id"]): p["campaign_id"] for p in tables["posts"]}
    out = defaultdict(list)
    for p in tables["posts"]:
        if p["campaign_id"]:
            out[(p["campaign_id"], p["network"])].append((p["account_id"], True,
                                                          ts(p["created_at"])))
    for s in tables["shares"]:
        cid = post_campaign[(s["network"], s["post_id"])]
        if cid:
            out[(cid, s["network"])].append((s["sharer_id"], False, ts(s["created_at"])))
    return out


def opportunities(F, net, items, authors) -> dict[str, tuple[int, int]]:
    """Reached person -> (OTS from posts, OTS from shares), by looking at every follower."""
    ots = defaultdict(lambda: [0, 0])
    for account, is_post, _ in items:
        for u in F.get((net, account), ()):
            if u not in authors:
                ots[u][0 if is_post else 1] += 1
    return {u: tuple(v) for u, v in ots.items()}


def distribution(values) -> dict:
    values = [v for v in values if v > 0]
    out = {"reach_1_plus": len(values), "reach_3_plus": sum(v >= 3 for v in values),
           "opportunities": sum(values)}
    for k in range(1, 11):
        out[f"people_{k}"] = sum(v == k for v in values)
    out["people_11_plus"] = sum(v >= 11 for v in values)
    return out


def frequency(tables, F=None):
    """(campaign, network, scope) -> distribution, networks with a graph and `all`.

    ``F`` ((network, followee) -> followers) may be given for a graph too large for rows.
    """
    F = followers(tables) if F is None else F
    nets = {net for net, _ in F}
    person = {(a["network"], a["account_id"]): a["person_id"] for a in tables["accounts"]}

    def who(net, a):
        return person.get((net, a)) or f"{net}:{a}"
    by_c = defaultdict(dict)
    for (cid, net), items in campaign_items(tables).items():
        by_c[cid][net] = items
    out = {}
    for cid, cells in by_c.items():
        per_person = defaultdict(lambda: [0, 0])
        author_people = set()
        for net, items in cells.items():
            if net not in nets:
                continue
            authors = {a for a, is_post, _ in items if is_post}
            author_people |= {who(net, a) for a in authors}
            ots = opportunities(F, net, items, authors)
            for scope, vals in _scopes(ots.values()).items():
                out[(cid, net, scope)] = distribution(vals)
            for u, (p, s) in ots.items():
                per_person[who(net, u)][0] += p
                per_person[who(net, u)][1] += s
        if set(cells) <= nets:
            kept = [tuple(v) for u, v in per_person.items() if u not in author_people]
            for scope, vals in _scopes(kept).items():
                out[(cid, "all", scope)] = distribution(vals)
    return out


def _scopes(pairs) -> dict[str, list[int]]:
    pairs = list(pairs)
    return {"total": [p + s for p, s in pairs], "first_degree": [p for p, _ in pairs],
            "reshares": [s for _, s in pairs]}


def weekly(tables, F=None):
    """(level, campaign, network, week Monday) -> (reach, opportunities, cumulative)."""
    from datetime import timedelta
    F = followers(tables) if F is None else F
    nets = {net for net, _ in F}
    cells = campaign_items(tables)
    groups = {("campaign", cid, net): items for (cid, net), items in cells.items()}
    for (_, net), items in cells.items():
        groups.setdefault(("network", "*", net), [])
        groups[("network", "*", net)] += items
    out = {}
    for (level, cid, net), items in groups.items():
        if net not in nets:
            continue
        authors = {a for a, is_post, _ in items if is_post}
        week = defaultdict(list)
        for it in items:
            week[it[2].date() - timedelta(days=it[2].weekday())].append(it)
        seen = set()
        for w in sorted(week):
            ots = opportunities(F, net, week[w], authors)
            seen |= set(ots)
            out[(level, cid, net, w)] = (len(ots), sum(p + s for p, s in ots.values()),
                                         len(seen))
    return out


def cascade_node_reach(tables) -> dict[tuple[str, str, str], int]:
    """(network, post_id, node_id) -> people that node reached first, with sets: nodes in
    time order, the root first at its instant, then by node id; root author excluded."""
    F = followers(tables)
    nets = graph_networks(tables)
    out = {}
    for (net, pid), (_T, _recon, nodes) in cascade_trees(tables).items():
        if net not in nets:
            continue
        author = nodes[0][1]
        reached: set[str] = set()
        root = nodes[0]
        for n, a, _t in sorted(nodes, key=lambda x: (x[2], x is not root, x[0])):
            new = F.get((net, a), set()) - {author} - reached
            out[(net, pid, n)] = len(new)
            reached |= new
    return out
