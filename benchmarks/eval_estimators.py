"""How close the `sampled` reach estimator comes, on a real follower graph.

On SNAP's ego-Twitter graph (1.77M follows; pass its file), generated campaigns: 1-3
authors among accounts with 500+ followers, 20-200 sharers drawn from their followers.
For each seed and campaign it computes the exact first-degree and total reach, then keeps
a uniform random 10 %, 30 % and 60 % of each account's followers (each account's list
drawn independently; every account reports its true count) and runs the estimator the
`reach` mart runs (reach.audience.sampled.sampled_reach). It prints, per setting, the median and
90th-percentile relative error and the share of 95 % intervals that hold the exact value.

    python benchmarks/eval_estimators.py PATH/twitter_combined.txt.gz [--seeds 10]
    python benchmarks/eval_estimators.py --speed [--lake .bench/lake]

``--speed`` times the reach mart on the benchmark lake (10.9M follows) with every list
complete and with half of every list hidden (each account reporting its full count).
The `modelled` estimator (no lists at all) is not built yet.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reach.audience.modelled import modelled_reach  # noqa: E402
from reach.audience.sampled import sampled_reach  # noqa: E402
from reach.followers.graph import FollowerGraph, Marker  # noqa: E402

TARGETS = {0.3: (0.03, 0.90), "modelled": (0.15, 0.90)}  # median error at most, coverage


def read_snap(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    with gzip.open(path, "rb") as fh:
        pairs = np.loadtxt(fh, dtype=np.int64)
    ids, inverse = np.unique(pairs.ravel(), return_inverse=True)
    edges = np.unique(inverse.reshape(-1, 2), axis=0)
    edges = edges[edges[:, 0] != edges[:, 1]]
    return edges[:, 0], edges[:, 1], int(ids.size)


def campaigns(g: FollowerGraph, rng: np.random.Generator, count: int):
    indeg = g.in_degree()
    brands = np.flatnonzero(indeg >= 500)
    for _ in range(count):
        authors = rng.choice(brands, rng.integers(1, 4), replace=False)
        audience = np.unique(g.followers_of(authors))
        sharers = rng.choice(audience, min(int(rng.integers(20, 201)), audience.size),
                             replace=False)
        yield authors.astype(np.int64), np.unique(np.concatenate([authors, sharers]))


def evaluate(path: Path, seeds: int, per_seed: int) -> bool:
    follower, followee, n = read_snap(path)
    full = FollowerGraph.from_edges("x", follower, followee, n)
    reported = full.in_degree().astype(np.float64)
    print(f"SNAP ego-Twitter: {n:,} accounts, {full.edges:,} follows; {seeds} seeds x "
          f"{per_seed} campaigns")
    marker = Marker(n)
    ok = True
    print(f"{'kept':>8} {'measure':>13} {'cells':>6} {'median err':>11} {'p90 err':>8} "
          f"{'bias':>7} {'coverage':>9}")
    for rate in (0.1, 0.3, 0.6):
        rows = {"first degree": [], "total": []}
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            keep = rng.random(full.edges) < rate
            owner = np.repeat(np.arange(n), full.in_degree())
            sample = FollowerGraph.from_edges("x", full.followers[keep], owner[keep], n)
            for authors, exposers in campaigns(full, rng, per_seed):
                for name, keys in (("first degree", authors), ("total", exposers)):
                    truth = marker.distinct_followers(full, keys, authors)
                    est = sampled_reach(marker, sample, keys, authors, reported)
                    rows[name].append((est.estimate / truth - 1,
                                       est.low <= truth <= est.high))
        ok &= report(f"{rate:.0%}", rows, TARGETS.get(rate))
    ok &= evaluate_modelled(full, seeds, per_seed, marker)
    return ok


def report(setting: str, rows: dict[str, list], target: tuple | None) -> bool:
    """Print one line per measure (median and p90 relative error, bias, coverage) and
    whether the total meets ``target`` (median error at most, coverage at least)."""
    ok = True
    for name, got in rows.items():
        err = np.array([e for e, _ in got])
        cover = float(np.mean([c for _, c in got]))
        med, p90 = float(np.median(np.abs(err))), float(np.quantile(np.abs(err), 0.9))
        line = (f"{setting:>8} {name:>13} {len(got):>6} {med:>11.2%} {p90:>8.2%} "
                f"{float(np.mean(err)):>+7.2%} {cover:>9.0%}")
        if target and name == "total":
            met = med <= target[0] and cover >= target[1]
            ok &= met
            line += (f"   target: median <= {target[0]:.0%}, coverage >= {target[1]:.0%}: "
                     f"{'met' if met else 'NOT met'}")
        print(line)
    return ok


def evaluate_modelled(full: FollowerGraph, seeds: int, per_seed: int, marker: Marker) -> bool:
    """No lists at all: each author posts 1-4 times, each sharer reshares one of those
    posts; the estimator sees each post's unique reach (computed from the hidden graph)
    and every account's follower count, nothing else."""
    counts = full.in_degree().astype(np.float64)
    rows = {"first degree": [], "total": []}
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        for authors, exposers in campaigns(full, rng, per_seed):
            sharers = np.setdiff1d(exposers, authors)
            post_author = np.repeat(np.arange(authors.size), rng.integers(1, 5, authors.size))
            owner = rng.integers(0, post_author.size, sharers.size)
            reach = np.array([marker.distinct_followers(
                full, np.concatenate([[authors[a]], sharers[owner == i]]), authors[[a]])
                for i, a in enumerate(post_author)], dtype=np.float64)
            first, total = modelled_reach(counts[authors], post_author, reach,
                                          np.zeros(post_author.size))
            for name, est, keys in (("first degree", first, authors),
                                    ("total", total, exposers)):
                truth = marker.distinct_followers(full, keys, authors)
                rows[name].append((est.estimate / truth - 1, est.low <= truth <= est.high))
    return report("no lists", rows, TARGETS["modelled"])


def speed(lake: Path) -> None:
    import polars as pl

    from etl.lake import Lake
    from reach.engine.marts import ComputeSpec, compute_marts
    lk = Lake.open(lake)
    tables = {t: lk.scan(t) for t in ("campaigns", "accounts", "follows", "posts", "shares",
                                       "conversions", "_account_keys")}
    counts = (tables["follows"].group_by("network", "followee_key")
              .agg(pl.len().cast(pl.Int64).alias("n")).rename({"followee_key": "account_key"}))
    complete = {**tables, "accounts": tables["accounts"].drop("followers_count").join(
        counts, on=["network", "account_key"], how="left").rename({"n": "followers_count"})}
    half = {**complete, "follows": tables["follows"].filter(
        pl.struct("follower_key", "followee_key").hash(7) % 2 == 0)}
    for name, t in (("every list complete (exact)", complete),
                    ("half of every list hidden (sampled)", half)):
        t0 = time.perf_counter()
        reach = compute_marts({k: v.collect().lazy() for k, v in t.items()},
                              spec=ComputeSpec(), only=("reach",))["reach"]
        t1 = time.perf_counter()
        methods = dict(reach.filter(pl.col("network") != "all")["method"].value_counts()
                       .iter_rows())
        print(f"{name:>38}: {t1 - t0:6.1f} s  {methods}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("snap", nargs="?", type=Path,
                    default=ROOT.parent / "shared" / "data" / "snap_ego_twitter"
                    / "twitter_combined.txt.gz")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--campaigns", type=int, default=20, help="campaigns per seed")
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--lake", type=Path, default=Path(".bench/lake"))
    a = ap.parse_args()
    if a.speed:
        speed(a.lake)
        return
    if not a.snap.exists():
        raise SystemExit(f"{a.snap}: no such file (SNAP's twitter_combined.txt.gz)")
    sys.exit(0 if evaluate(a.snap, a.seeds, a.campaigns) else 1)


if __name__ == "__main__":
    main()
