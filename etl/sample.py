"""A realistic, deterministic sample data set in the canonical input format.

What it simulates, and why it looks the way it does:

* four networks whose follower graphs differ in shape: ``x`` (very heavy-tailed
  in-degree, little reciprocity), ``instagram`` (heavy-tailed), ``facebook``
  (mostly reciprocal friendships, lighter tail) and ``linkedin`` (moderate);
* two brand accounts per network (the main handle follows nobody in particular
  but is followed by a few percent of everyone) and a handful of influencers;
* campaigns on two to four networks each, with campaign posts by the brand (and
  sometimes influencers) and organic baseline posts by the same accounts all year;
* a campaign effect on engagement (and on the reshare probability) that differs by
  network: the true multipliers are written to ``_truth.json`` beside the tables;
* reshare cascades that spread over the follower graph generation by generation
  with log-normal delays; on some networks shares carry ``parent_id``, on others
  it is left empty and must be reconstructed;
* sentiment on posts, conversions after exposure, and one negative wave started by
  a non-brand account with a large following.

``scale`` multiplies the accounts and follow edges (scale 1: about 200k edges;
scale 50: about 10 million); posts grow with ``campaigns``, not with scale.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from reach.errors import UsageError

YEAR_START = datetime(2026, 1, 5, tzinfo=UTC)
YEAR_END = datetime(2026, 10, 25, tzinfo=UTC)
POST_TYPES = ("image", "video", "text", "link")
POST_TYPE_EFFECT = {"image": 0.0, "video": 0.35, "text": -0.3, "link": -0.15}
CAMPAIGN_NAMES = (
    "Spring Launch", "Summer Sale", "Back to School", "Green Week", "Holiday Teaser",
    "Creator Collab", "Product Drop", "Loyalty Push", "Brand Film", "City Tour",
)
OBJECTIVES = ("awareness", "engagement", "conversion")


@dataclass(frozen=True)
class NetworkShape:
    """How one network's graph and audience behave."""

    name: str
    accounts: int  # at scale 1
    mean_out: float  # follows per account
    zipf: float  # in-degree tail exponent: higher = heavier tail
    reciprocity: float  # share of edges followed back
    brand_reach: float  # share of accounts that follow the main brand account
    share_p: float  # per-exposure reshare probability of an organic brand post
    parent_known: float  # share of share rows that carry parent_id
    effect: float  # true log campaign effect on engagement
    delay_minutes: float  # median reshare delay
    id_prefix: str


NETWORKS = (
    NetworkShape("x", 6000, 12, 1.15, 0.05, 0.06, 0.012, 0.5, 0.30, 18, ""),
    NetworkShape("instagram", 5000, 10, 1.0, 0.15, 0.08, 0.008, 0.0, 0.45, 45, "ig"),
    NetworkShape("facebook", 4000, 9, 0.55, 0.85, 0.05, 0.010, 1.0, 0.10, 90, "fb"),
    NetworkShape("linkedin", 3000, 8, 0.85, 0.40, 0.04, 0.006, 0.8, 0.0, 240, "li"),
)


@dataclass
class _Graph:
    """Followers of every account as CSR arrays (offsets by followee)."""

    offsets: np.ndarray
    followers: np.ndarray

    def of(self, account: int) -> np.ndarray:
        return self.followers[self.offsets[account] : self.offsets[account + 1]]

    def in_degree(self) -> np.ndarray:
        return np.diff(self.offsets)


def _iso(seconds: np.ndarray) -> pl.Series:
    """Seconds since the epoch -> ISO-8601 UTC strings (vectorised)."""
    micros = pl.Series(np.asarray(seconds, dtype=np.float64) * 1e6).cast(pl.Int64)
    return micros.cast(pl.Datetime("us", "UTC")).dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _follow_graph(shape: NetworkShape, n: int, rng: np.random.Generator) -> np.ndarray:
    """Edges (follower, followee) as one int64 code per edge, deduplicated, no self-loops."""
    m = int(n * shape.mean_out)
    popularity = np.arange(1, n + 1, dtype=np.float64) ** -shape.zipf
    popularity = popularity[rng.permutation(n)]
    popularity /= popularity.sum()
    activity = rng.lognormal(0.0, 0.8, n)
    activity /= activity.sum()
    followee = rng.choice(n, size=m, p=popularity)
    follower = rng.choice(n, size=m, p=activity)
    back = rng.random(m) < shape.reciprocity
    brand_fans = np.flatnonzero(rng.random(n) < shape.brand_reach)
    support_fans = np.flatnonzero(rng.random(n) < shape.brand_reach / 4)
    src = np.concatenate([follower, followee[back], brand_fans, support_fans])
    dst = np.concatenate([followee, follower[back], np.zeros_like(brand_fans),
                          np.ones_like(support_fans)])
    keep = src != dst
    codes = np.unique(src[keep].astype(np.int64) * n + dst[keep])
    return codes


def _csr(codes: np.ndarray, n: int) -> _Graph:
    follower, followee = codes // n, codes % n
    order = np.argsort(followee, kind="stable")
    counts = np.bincount(followee, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return _Graph(offsets, follower[order].astype(np.int32))


@dataclass
class _Cascade:
    sharer: list[int]
    parent: list[int]  # index into this cascade's shares, -1 = the root post
    time: list[float]


def _simulate_cascade(
    graph: _Graph, author: int, t0: float, p: float, shape: NetworkShape,
    rng: np.random.Generator, stamp: np.ndarray, seq: int, max_size: int = 4000,
) -> _Cascade:
    """Independent-cascade spread over the follower graph, generation by generation."""
    out = _Cascade([], [], [])
    stamp[author] = seq
    frontier = [(author, -1, t0)]
    for generation in range(8):
        if not frontier or len(out.sharer) >= max_size:
            break
        nxt = []
        p_gen = p * 0.75**generation
        for account, node, t in sorted(frontier, key=lambda f: f[2]):
            fol = graph.of(account)
            fol = fol[stamp[fol] != seq]
            if fol.size == 0:
                continue
            stamp[fol] = seq
            chosen = fol[rng.random(fol.size) < p_gen]
            for s in chosen.tolist():
                delay = rng.lognormal(np.log(shape.delay_minutes), 1.1) * 60.0
                ts = t + delay
                if ts > YEAR_END.timestamp():
                    continue
                out.sharer.append(s)
                out.parent.append(node)
                out.time.append(ts)
                nxt.append((s, len(out.sharer) - 1, ts))
                if rng.random() < 0.01:  # an account that shares twice
                    out.sharer.append(s)
                    out.parent.append(node)
                    out.time.append(ts + rng.exponential(3600.0))
        frontier = nxt
    return out


def generate(
    out: Path, *, seed: int = 7, scale: float = 1.0, campaigns: int = 6,
    fmt: str = "csv", progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write the sample tables to ``out``; return the row count of each table."""
    if scale <= 0:
        raise UsageError(f"--scale must be > 0, got {scale}")
    if campaigns < 1:
        raise UsageError(f"--campaigns must be >= 1, got {campaigns}")
    if fmt not in ("csv", "parquet", "ndjson"):
        raise UsageError(f"--format '{fmt}' must be one of csv, parquet, ndjson")
    say = progress or (lambda _msg: None)
    out.mkdir(parents=True, exist_ok=True)
    root = np.random.SeedSequence(seed)
    net_seeds = root.spawn(len(NETWORKS) + 1)
    rng = np.random.default_rng(net_seeds[-1])

    camp_rows = _campaigns(campaigns, rng)
    truth: dict = {"network_effect": {}, "campaigns": {}}
    tables: dict[str, list[pl.DataFrame]] = {t: [] for t in
                                             ("accounts", "follows", "posts", "shares", "conversions")}
    people = int(max(s.accounts for s in NETWORKS) * scale)
    person_perm_rng = np.random.default_rng(root.spawn(1)[0])
    post_seq = 0
    for shape, nseed in zip(NETWORKS, net_seeds[:-1], strict=False):
        nrng = np.random.default_rng(nseed)
        n = max(200, int(shape.accounts * scale))
        say(f"{shape.name}: follower graph of {n:,} accounts")
        codes = _follow_graph(shape, n, nrng)
        graph = _csr(codes, n)
        ids = np.array([f"{shape.id_prefix}{100000 + 7 * i}" for i in range(n)], dtype=object)
        tables["follows"].append(_follows_frame(shape, codes, n, ids, nrng))
        indeg = graph.in_degree()
        tables["accounts"].append(
            _accounts_frame(shape, n, ids, indeg, people, person_perm_rng, nrng))
        truth["network_effect"][shape.name] = shape.effect

        influencers = [int(a) for a in np.argsort(-indeg) if a > 1][:6]
        say(f"{shape.name}: posts and cascades")
        posts, shares, post_seq = _posts_and_cascades(
            shape, graph, ids, indeg, influencers, camp_rows, truth, nrng, post_seq)
        tables["posts"].append(posts)
        tables["shares"].append(shares)
        tables["conversions"].append(_conversions(shape, graph, ids, posts, nrng))

    frames = {"campaigns": pl.DataFrame(camp_rows)}
    frames.update({k: pl.concat(v, how="vertical") for k, v in tables.items()})
    counts = {}
    for name, df in frames.items():
        say(f"writing {name} ({df.height:,} rows)")
        _write(df, out / f"{name}.{fmt}", fmt)
        counts[name] = df.height
    (out / "_truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True))
    return counts


def _write(df: pl.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        df.write_csv(path)
    elif fmt == "parquet":
        df.write_parquet(path, compression="zstd")
    else:
        df.write_ndjson(path)


def _campaigns(k: int, rng: np.random.Generator) -> list[dict]:
    span = (YEAR_END - YEAR_START).days - 40
    rows = []
    for i in range(k):
        start = YEAR_START + timedelta(days=int(rng.integers(10, span)), hours=9)
        days = int(rng.integers(7, 29))
        base = CAMPAIGN_NAMES[i % len(CAMPAIGN_NAMES)]
        name = base if i < len(CAMPAIGN_NAMES) else f"{base} {i // len(CAMPAIGN_NAMES) + 1}"
        rows.append({
            "campaign_id": f"c{i + 1:03d}",
            "name": name,
            "start_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_at": (start + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "objective": OBJECTIVES[int(rng.integers(0, len(OBJECTIVES)))],
        })
    return rows


def _follows_frame(shape, codes, n, ids, rng) -> pl.DataFrame:
    follower, followee = codes // n, codes % n
    start, end = datetime(2019, 1, 1, tzinfo=UTC).timestamp(), YEAR_START.timestamp()
    when = rng.uniform(start, end, codes.size).astype(np.int64)
    return pl.DataFrame({
        "network": pl.repeat(shape.name, codes.size, eager=True),
        "follower_id": ids[follower],
        "followee_id": ids[followee],
        "followed_at": _iso(when),
    })


def _accounts_frame(shape, n, ids, indeg, people, perm_rng, rng) -> pl.DataFrame:
    # The same person keeps the same index across networks through one permutation,
    # so accounts with equal person_id on two networks are one human.
    person = np.arange(n) % people
    known = rng.random(n) < 0.4
    person_id = np.where(known, np.char.add("u", person.astype(str)), None)
    person_id[0], person_id[1] = "brand", "brand-support"
    # The sample's lists hold every follower, so each account reports what it lists (an
    # account reporting more would make its list a sample: method `sampled`). The draw
    # keeps the random stream of earlier versions of the sample.
    rng.uniform(1.0, 1.3, n)
    reported = np.asarray(indeg, dtype=np.int64)
    reported_missing = rng.random(n) < 0.1
    handles = [f"acme_{shape.name}", f"acme_help_{shape.name}"] + [
        f"user_{shape.id_prefix or 'x'}{i}" for i in range(2, n)]
    return pl.DataFrame({
        "network": [shape.name] * n,
        "account_id": ids,
        "handle": handles,
        "followers_count": pl.Series(reported).scatter(np.flatnonzero(reported_missing), None),
        "is_brand": np.arange(n) < 2,
        "person_id": person_id.tolist(),
    })


def _posts_and_cascades(shape, graph, ids, indeg, influencers, camp_rows, truth, rng, seq):
    """Organic and campaign posts for one network, each with its simulated cascade."""
    stamp = np.full(ids.size, -1, dtype=np.int64)
    account_effect = {0: 0.0, 1: -0.6}
    account_effect.update({a: float(rng.normal(0.2, 0.3)) for a in influencers})
    planned = []  # (author, time, campaign_id, effect)
    t_lo, t_hi = YEAR_START.timestamp(), YEAR_END.timestamp()
    for author, every_days in [(0, 2.0), (1, 6.0)] + [(a, 12.0) for a in influencers[:3]]:
        k = int((t_hi - t_lo) / 86400 / every_days)
        for t in rng.uniform(t_lo, t_hi - 86400 * 3, k):
            planned.append((author, float(t), None, 0.0))
    for c in camp_rows:
        cid = c["campaign_id"]
        nets = truth["campaigns"].setdefault(cid, {})
        if len(nets) == 0:
            chosen = rng.choice(len(NETWORKS), size=int(rng.integers(2, len(NETWORKS) + 1)),
                                replace=False)
            for j in chosen:
                nets[NETWORKS[j].name] = None
        if shape.name not in nets:
            continue
        strength = float(rng.uniform(0.6, 1.4))
        effect = shape.effect * strength
        nets[shape.name] = round(effect, 6)
        start = datetime.fromisoformat(c["start_at"].replace("Z", "+00:00")).timestamp()
        end = datetime.fromisoformat(c["end_at"].replace("Z", "+00:00")).timestamp()
        authors = [0] * int(rng.integers(4, 10))
        if rng.random() < 0.35:
            authors += [influencers[int(rng.integers(0, 3))]] * int(rng.integers(1, 3))
        for a in authors:
            planned.append((a, float(rng.uniform(start, end - 3600)), cid, effect))
    # Mentions by ordinary accounts, and one negative wave from a large non-brand account.
    ordinary = rng.choice(np.arange(2, ids.size), size=min(40, ids.size - 2), replace=False)
    for a in ordinary:
        planned.append((int(a), float(rng.uniform(t_lo, t_hi - 86400)), "mention", 0.0))
    wave_author = influencers[3] if len(influencers) > 3 else 2
    planned.append((wave_author, float(rng.uniform(t_hi - 86400 * 60, t_hi - 86400 * 20)),
                    "wave", 0.0))
    planned.sort(key=lambda p: p[1])

    post_rows, share_frames = [], []
    for author, t, cid, effect in planned:
        seq += 1
        post_id = f"{shape.id_prefix}p{seq}"
        kind = cid if cid in ("mention", "wave") else None
        campaign_id = None if kind else cid
        ptype = POST_TYPES[int(rng.integers(0, len(POST_TYPES)))]
        p_share = shape.share_p * np.exp(effect + POST_TYPE_EFFECT[ptype] / 2)
        if kind == "wave":
            p_share = 0.06
        elif kind == "mention":
            p_share = shape.share_p * 2
        cas = _simulate_cascade(graph, author, t, p_share, shape, rng, stamp, seq)
        followers = int(indeg[author])
        impressions = int(followers * rng.uniform(0.25, 0.6)) + len(cas.sharer) * 5
        mu = max(impressions, 1) * 0.04 * np.exp(
            effect + POST_TYPE_EFFECT[ptype] + account_effect.get(author, 0.0))
        r = 3.0  # negative-binomial dispersion: engagement is overdispersed
        likes = int(rng.negative_binomial(r, r / (r + 0.85 * mu)))
        comments = int(rng.negative_binomial(r, r / (r + 0.10 * mu)))
        extra_shares = int(rng.negative_binomial(r, r / (r + 0.05 * mu)))
        sentiment = {"wave": -0.8, "mention": float(rng.uniform(-0.6, 0.8))}.get(
            kind, float(np.clip(rng.normal(0.45, 0.25), -1, 1)))
        if kind == "mention" and sentiment < -0.3:
            sentiment = -0.3 if rng.random() < 0.5 else sentiment
        post_rows.append({
            "network": shape.name, "post_id": post_id, "account_id": ids[author],
            "created_at": _iso(np.array([t])).item(), "campaign_id": campaign_id,
            "post_type": ptype,
            "impressions": None if rng.random() < 0.03 else impressions,
            "likes": None if rng.random() < 0.01 else likes, "comments": comments,
            "shares": len(cas.sharer) + extra_shares,
            "clicks": int(rng.negative_binomial(r, r / (r + 0.02 * mu))),
            "sentiment": round(sentiment, 3),
        })
        if cas.sharer:
            share_frames.append(_share_frame(shape, post_id, cas, ids, seq, rng))
    posts = pl.DataFrame(post_rows, infer_schema_length=None)
    shares = pl.concat(share_frames) if share_frames else pl.DataFrame(
        schema={c: pl.String for c in ("network", "share_id", "post_id", "sharer_id",
                                       "created_at", "parent_id")})
    return posts, shares, seq


def _share_frame(shape, post_id, cas: _Cascade, ids, seq, rng) -> pl.DataFrame:
    k = len(cas.sharer)
    share_ids = np.array([f"{shape.id_prefix}s{seq}.{i}" for i in range(k)], dtype=object)
    parent = np.array(cas.parent)
    parent_ids = np.where(parent < 0, post_id, share_ids[np.maximum(parent, 0)])
    known = rng.random(k) < shape.parent_known
    return pl.DataFrame({
        "network": [shape.name] * k,
        "share_id": share_ids,
        "post_id": [post_id] * k,
        "sharer_id": ids[np.array(cas.sharer)],
        "created_at": _iso(np.array(cas.time)),
        "parent_id": [p if kn else None for p, kn in zip(parent_ids, known, strict=True)],
    }, schema_overrides={"parent_id": pl.String})


def _conversions(shape, graph, ids, posts: pl.DataFrame, rng) -> pl.DataFrame:
    """People exposed to campaign posts convert a little more often than the base rate."""
    rows_acc, rows_t = [], []
    camp = posts.filter(pl.col("campaign_id").is_not_null())
    id_index = {a: i for i, a in enumerate(ids.tolist())}
    for acc, created in zip(camp["account_id"], camp["created_at"], strict=True):
        fol = graph.of(id_index[acc])
        hit = fol[rng.random(fol.size) < 0.002]
        t0 = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
        rows_acc.extend(hit.tolist())
        rows_t.extend((t0 + rng.exponential(2 * 86400, hit.size)).tolist())
    base = rng.choice(ids.size, size=max(5, ids.size // 500), replace=False)
    rows_acc.extend(base.tolist())
    rows_t.extend(rng.uniform(YEAR_START.timestamp(), YEAR_END.timestamp(), base.size).tolist())
    t = np.minimum(np.array(rows_t), YEAR_END.timestamp()).astype(np.int64)
    df = pl.DataFrame({
        "network": pl.repeat(shape.name, len(rows_acc), eager=True),
        "account_id": ids[np.array(rows_acc, dtype=np.int64)],
        "converted_at": _iso(t),
        "value": np.round(rng.lognormal(3.5, 0.7, len(rows_acc)), 2),
    })
    return df.unique(subset=["network", "account_id", "converted_at"], keep="first",
                     maintain_order=True)
