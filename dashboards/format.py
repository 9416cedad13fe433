"""How numbers, colours and definitions look everywhere in the dashboard."""

from __future__ import annotations

from functools import lru_cache

#: Okabe & Ito's palette ("Color Universal Design", 2008): told apart with every common
#: colour-vision deficiency (tests/test_dashboard_colours.py checks it by simulation)
NETWORK_COLOURS = {"x": "#000000", "twitter": "#000000", "instagram": "#CC79A7",
                   "facebook": "#0072B2", "linkedin": "#009E73", "tiktok": "#D55E00",
                   "youtube": "#E69F00", "bluesky": "#56B4E9", "all": "#6b7280"}
FALLBACK = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7"]
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


def colour(network: str) -> str:
    """One colour per network, the same on every page."""
    return NETWORK_COLOURS.get(network) or FALLBACK[sum(map(ord, network)) % len(FALLBACK)]


def human(n: float | None) -> str:
    """1234567 -> 1.2M; None -> –."""
    if n is None:
        return "–"
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"


def pct(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{x:.{digits}%}"


def signed_pct(x: float | None) -> str:
    return "–" if x is None else f"{x:+.0%}"


def when(t) -> str:
    """A time as people read it: 2 Dec 2026, 14:05 UTC; None -> –."""
    return "–" if t is None else f"{t.day} {t:%b %Y, %H:%M} UTC"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


@lru_cache(maxsize=1)
def definitions() -> dict[str, dict[str, str]]:
    """Column definitions from docs/marts.md, for hover text."""
    from reach.mart_docs import column_docs
    return column_docs()


def tooltip(mart: str, column: str) -> str:
    """The column's definition in ``mart``, else in the first mart that defines it."""
    docs = definitions()
    found = docs.get(mart, {}).get(column)
    return found or next((d[column] for d in docs.values() if column in d), "")
