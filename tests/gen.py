"""Small random canonical data sets for oracle and property tests.

Deliberately awkward: reciprocal follows (cycles in the graph), accounts nobody
follows, sharers who share twice, shares with unknown parents, persons with accounts
on both networks, and a network without a follower graph.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_tables(seed: int, *, accounts: int = 25, graph_less: bool = True,
                partial: bool = False) -> dict[str, list[dict]]:
    """Small random tables of every kind; ``partial``: about a third of network x's
    accounts report more followers than their lists hold (method ``sampled``)."""
    rnd = random.Random(seed)
    nets = ["x", "fb"] + (["tw"] if graph_less else [])
    campaigns = [{"campaign_id": f"c{i}", "name": f"Campaign {i}",
                  "start_at": iso(T0), "end_at": iso(T0 + timedelta(days=30))}
                 for i in range(3)]
    acc, fol, posts, shares = [], [], [], []
    for net in nets:
        ids = [f"{net}{i:02d}" for i in range(accounts)]
        for i, a in enumerate(ids):
            acc.append({"network": net, "account_id": a, "is_brand": i == 0,
                        "person_id": f"p{i % (accounts - 4)}" if rnd.random() < 0.5 else None,
                        "followers_count": rnd.choice([None, rnd.randint(0, 40)])})
        if net != "tw":
            silent = set(rnd.sample(ids[1:], 3))  # nobody follows these
            for a in ids:
                for b in rnd.sample(ids, rnd.randint(0, 8)):
                    if a != b and b not in silent:
                        fol.append({"network": net, "follower_id": a, "followee_id": b})
                        if rnd.random() < 0.3 and a not in silent:
                            fol.append({"network": net, "follower_id": b, "followee_id": a})
        for p in range(rnd.randint(3, 7)):
            post_id = f"{net}p{p}"
            author = rnd.choice(ids[:4])
            t = T0 + timedelta(hours=rnd.randint(0, 200))
            posts.append({"network": net, "post_id": post_id, "account_id": author,
                          "created_at": iso(t),
                          "campaign_id": rnd.choice(["c0", "c1", "c2", None]),
                          "likes": rnd.randint(0, 50), "sentiment": rnd.uniform(-1, 1)})
            nodes = [(post_id, author, t)]
            for s in range(rnd.randint(0, 9)):
                sharer = rnd.choice(ids)
                parent = rnd.choice(nodes)
                ts = parent[2] + timedelta(minutes=rnd.choice([0, 5, 30, 90]))
                sid = f"{post_id}s{s}"
                shares.append({"network": net, "share_id": sid, "post_id": post_id,
                               "sharer_id": sharer, "created_at": iso(ts),
                               "parent_id": parent[0] if rnd.random() < 0.5 else None})
                nodes.append((sid, sharer, ts))
    # de-duplicate follows (the loader would quarantine repeats)
    seen, unique = set(), []
    for f in fol:
        k = (f["network"], f["follower_id"], f["followee_id"])
        if k not in seen:
            seen.add(k)
            unique.append(f)
    # A list is complete unless the account reports more followers than it lists
    # (method `sampled`): these tables hold every follower, so counts stay within the lists.
    indeg: dict[tuple[str, str], int] = {}
    for f in unique:
        key = (f["network"], f["followee_id"])
        indeg[key] = indeg.get(key, 0) + 1
    for a in acc:
        if a["followers_count"] is not None and a["network"] != "tw":
            a["followers_count"] = min(a["followers_count"],
                                       indeg.get((a["network"], a["account_id"]), 0))
        if partial and a["network"] == "x" and rnd.random() < 0.35:
            listed = indeg.get((a["network"], a["account_id"]), 0)
            a["followers_count"] = listed + rnd.randint(1, 2 * listed + 1)
    # conversions: some accounts convert, once or twice, before, during or after the posts
    crnd = random.Random(seed + 1000)
    conversions = []
    for a in acc:
        for _ in range(crnd.choice([0, 0, 0, 1, 2])):
            conversions.append({
                "network": a["network"], "account_id": a["account_id"],
                "converted_at": iso(T0 + timedelta(hours=crnd.randint(0, 400),
                                                   minutes=crnd.randint(0, 59))),
                "value": crnd.choice([None, round(crnd.uniform(1, 100), 2)])})
    seen_c, conv = set(), []
    for c in conversions:
        k = (c["network"], c["account_id"], c["converted_at"])
        if k not in seen_c:
            seen_c.add(k)
            conv.append(c)
    return {"campaigns": campaigns, "accounts": acc, "follows": unique, "posts": posts,
            "shares": shares, "conversions": conv}


def write(tables: dict[str, list[dict]], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        if rows:
            pl.DataFrame(rows, infer_schema_length=None).write_csv(folder / f"{name}.csv")
    return folder
