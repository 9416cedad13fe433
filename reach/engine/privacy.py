"""The privacy threshold: no published cell describes fewer than ``min_people`` people.

Applied to what leaves the lake (`reach export`, `reach publish`, the dashboard), never to
the marts themselves. The registry (``reach.engine.registry``) says, per mart, which columns
count people and how cells relate, and suppression follows those relations so that a
suppressed value cannot be recovered by subtracting published ones:

1. *Primary*: a people cell with 0 < value < min_people is suppressed (0 describes nobody).
2. *Sums within a row* (total = Σ parts) and *sums over rows* (e.g. Shapley credits add
   up to a reach published elsewhere): a group with a suppressed member gets more
   suppressed members — the smallest published ones — until at least two are suppressed
   and together they hold at least min_people people.
3. *Derived* columns (a ratio or a weighted sum of suppressed cells) are suppressed with them.
4. *Running totals* (cumulative reach): a cumulative value is published only where it
   grew by 0 or by at least min_people since the previous published one, counting the
   final value as known (it equals a published total); an increment (new reach) only
   where both its cumulative values are published.

Suppressed cells become empty; the ``suppressed`` column lists their names per row.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from reach.engine.registry import Mart

DEFAULT_MIN_PEOPLE = 50
SUPPRESSED = "suppressed"
_ROUNDS = 50  #: complementary suppression stops changing well before this
_ZERO_LAST = 1e300


def published_schema(mart: Mart) -> dict[str, pl.DataType]:
    """The mart's columns as exported and published: its own, plus ``suppressed``."""
    return {**mart.schema, SUPPRESSED: pl.String()} if mart.people else dict(mart.schema)


def suppress(mart: Mart, df: pl.DataFrame, min_people: int = DEFAULT_MIN_PEOPLE
             ) -> pl.DataFrame:
    """``df`` with cells under the threshold (and those that would reveal them) emptied,
    plus the ``suppressed`` column; unchanged but for that column when ``min_people`` is 0."""
    if not mart.people:
        return df
    out = df.with_columns(pl.lit(None, pl.String).alias(SUPPRESSED))
    if min_people <= 0 or df.height == 0:
        return out
    n = min_people
    vals = {c: df[c].cast(pl.Float64).fill_null(0).to_numpy().copy()
            for c in _related_columns(mart) if c in df.columns}
    known = {c: df[c].is_not_null().to_numpy() for c in vals}
    running = {r[0] for r in mart.running} | {r[1] for r in mart.running if r[1]}
    hit = {c: ((v > 0) & (v < n)) if (c in mart.people and c not in running)
           else np.zeros(df.height, bool) for c, v in vals.items()}
    for _ in range(_ROUNDS):
        before = sum(int(h.sum()) for h in hit.values())
        for group in mart.sums:
            _complete(np.column_stack([vals[c] for c in group]),
                      np.column_stack([hit[c] for c in group]),
                      np.column_stack([known[c] for c in group]), n, [hit[c] for c in group])
        for col, by in mart.row_sums:
            _complete_rows(df, by, vals[col], hit[col], known[col], n)
        for col, sources in mart.derived.items():
            for s in sources:
                hit[col] |= hit[s]
        if sum(int(h.sum()) for h in hit.values()) == before:
            break
    for cum, inc, by, order in mart.running:
        _running(df, cum, inc, by, order, vals, hit, n)
    names = [c for c in vals if hit[c].any()]
    if not names:
        return out
    marks = pl.concat_str([pl.when(pl.Series(hit[c])).then(pl.lit(c)) for c in names],
                          separator=",", ignore_nulls=True)
    return out.with_columns(
        *[pl.when(pl.Series(hit[c])).then(None).otherwise(pl.col(c)).alias(c) for c in names],
        pl.when(marks == "").then(None).otherwise(marks).alias(SUPPRESSED))


def _related_columns(mart: Mart) -> list[str]:
    cols = list(mart.people)
    cols += [c for g in mart.sums for c in g]
    cols += [c for c, _ in mart.row_sums]
    cols += list(mart.derived) + [s for ss in mart.derived.values() for s in ss]
    cols += [c for r in mart.running for c in r[:2] if c]
    return list(dict.fromkeys(cols))


def _pick_order(values: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Which published cell to suppress next: the smallest non-zero one, else a zero
    (a hidden zero still hides how a suppressed sum splits), never a missing one."""
    return np.where(candidate, np.where(values > 0, values, _ZERO_LAST), np.inf)


def _complete(values: np.ndarray, hit: np.ndarray, known: np.ndarray, n: int,
              targets: list[np.ndarray]) -> None:
    """Rows of a sum group: while a row has a suppressed member but fewer than two, or
    fewer than ``n`` people among them, suppress one more of its published members."""
    for _ in range(values.shape[1]):
        count = hit.sum(axis=1)
        held = np.where(hit, values, 0).sum(axis=1)
        candidates = ~hit & known
        need = (count >= 1) & ((count < 2) | (held < n)) & candidates.any(axis=1)
        if not need.any():
            return
        pick = np.argmin(_pick_order(values, candidates), axis=1)
        rows = np.flatnonzero(need)
        hit[rows, pick[rows]] = True
        for j, t in enumerate(targets):
            t[rows[pick[rows] == j]] = True


def _complete_rows(df: pl.DataFrame, by: tuple[str, ...], values: np.ndarray,
                   hit: np.ndarray, known: np.ndarray, n: int) -> None:
    """The same rule over the rows of each group (their total is published elsewhere)."""
    gid = df.select(pl.struct(list(by)).rank("dense")).to_series().to_numpy().astype(np.int64)
    for _ in range(df.height):
        groups = gid.max() + 1
        count = np.bincount(gid, weights=hit, minlength=groups)
        held = np.bincount(gid, weights=np.where(hit, values, 0), minlength=groups)
        candidate = ~hit & known
        need = (count >= 1) & ((count < 2) | (held < n))
        if not need[gid[candidate]].any():
            return
        masked = _pick_order(values, candidate & need[gid])
        order = np.lexsort((masked, gid))
        first = order[np.unique(gid[order], return_index=True)[1]]
        hit[first[np.isfinite(masked[first])]] = True


def _running(df: pl.DataFrame, cum: str, inc: str, by: tuple[str, ...], order: str,
             vals: dict[str, np.ndarray], hit: dict[str, np.ndarray], n: int) -> None:
    idx = df.with_row_index("_i").sort([*by, order]).select("_i", *by)
    keys = idx.select(pl.struct(list(by)).rank("dense")).to_series().to_numpy()
    c = vals[cum]
    for members in np.split(idx["_i"].to_numpy(), np.flatnonzero(np.diff(keys)) + 1):
        published, last = [], 0.0
        for i in members:
            if c[i] - last == 0 or c[i] - last >= n:
                published.append(i)
                last = c[i]
        final = c[members[-1]]
        while published and 0 < final - c[published[-1]] < n:
            published.pop()  # the final value is known: a small remainder would show
        shown = np.zeros(df.height, bool)
        shown[published] = True
        hit[cum][members] = ~shown[members]
        if inc:
            prev_shown = np.concatenate([[True], shown[members[:-1]]])
            v = vals[inc][members]
            hit[inc][members] = ~(shown[members] & prev_shown & ((v == 0) | (v >= n)))
