"""The selection lives in the URL (?campaigns=a,b&networks=x), so a link shares a view.

Values are separated by literal commas and each value is percent-encoded, so an id that
contains a comma (written ``%2C``) stays one id: a shared link opens what it showed.
"""

from __future__ import annotations

from urllib.parse import quote_plus, unquote_plus


def parse(search: str | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pair in (search or "").lstrip("?").split("&"):
        key, _, value = pair.partition("=")
        if key:  # split on the raw separators first, then decode each value
            out.setdefault(unquote_plus(key), []).extend(
                unquote_plus(x) for x in value.split(",") if x)
    return out


def first(state: dict[str, list[str]], key: str, default=None):
    v = state.get(key)
    return v[0] if v else default


def with_values(search: str | None, **values) -> str:
    """The search string with ``values`` replaced (lists joined by commas, None dropped)."""
    state = parse(search)
    for k, v in values.items():
        if v is None or v == []:
            state.pop(k, None)
        else:
            state[k] = v if isinstance(v, list) else [str(v)]
    if not state:
        return ""
    return "?" + "&".join(f"{quote_plus(k)}=" + ",".join(quote_plus(x, safe="") for x in v)
                          for k, v in state.items())


def dates(state: dict[str, list[str]]):
    """The date range in the URL (?from=2026-03-01&to=2026-03-31) as two datetimes in UTC
    (``to`` through the end of its day), or None; a malformed date is ignored."""
    from datetime import UTC, datetime, timedelta

    def day(key: str):
        try:
            return datetime.strptime(first(state, key, ""), "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            return None
    lo, hi = day("from"), day("to")
    if lo is None and hi is None:
        return None
    return (lo or datetime(1970, 1, 1, tzinfo=UTC),
            (hi + timedelta(days=1)) if hi else datetime(9999, 1, 1, tzinfo=UTC))
