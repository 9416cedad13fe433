"""The selection lives in the URL (?campaigns=a,b&networks=x), so a link shares a view."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode


def parse(search: str | None) -> dict[str, list[str]]:
    q = parse_qs((search or "").lstrip("?"))
    return {k: [x for v in vs for x in v.split(",") if x] for k, vs in q.items()}


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
    return "?" + urlencode({k: ",".join(v) for k, v in state.items()}) if state else ""
