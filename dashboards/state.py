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
