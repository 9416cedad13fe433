"""Data quality: the last loads, what was quarantined and why, the last validation."""

from __future__ import annotations

import polars as pl
from dash import html

from .. import state as st
from ..format import human
from .common import empty, section, table


def layout(reader, state) -> html.Div:
    manifest = reader.manifest()
    loads = manifest.get("loads", [])
    if not loads:
        return empty("No loads yet: run `reach etl SOURCE --lake LAKE`.")
    dates = st.dates(state)
    if dates:  # the loads made in the chosen dates
        lo, hi = (d.strftime("%Y-%m-%dT%H:%M:%S") for d in dates)
        loads = [ld for ld in loads if lo <= ld["loaded_at"][:19] < hi]
    rows = []
    for ld in reversed(loads[-20:]):
        for t, c in ld.get("tables", {}).items():
            rows.append({"batch_id": ld["batch_id"], "loaded_at": ld["loaded_at"][:19],
                         "source": ld["source"], "table": t, "rows_in": c["rows_in"],
                         "accepted": c["accepted"], "quarantined": c["quarantined"]})
    loads_df = pl.DataFrame(rows)
    q = reader.quarantine_counts()
    val = reader.validation()
    if val is None:
        verdict = empty("Not validated yet: run `reach validate --lake LAKE`.")
    else:
        failed = [r for r in val.get("results", []) if not r.get("success")]
        verdict = html.Div([
            html.Span("✔ passed" if val.get("success") else "✘ failed", id="dq-verdict",
                      style={"fontWeight": "700",
                             "color": "#15803d" if val.get("success") else "#b91c1c"}),
            html.Span(f" — {len(val.get('results', []))} expectations, {len(failed)} failed, "
                      f"checked {str(val.get('checked_at', ''))[:19]}. "),
            html.A("Open the Great Expectations data docs", href="/lake-docs/index.html",
                   target="_blank") if (reader.docs_root() / "index.html").exists() else
            html.Span("(no data docs: validate without --no-docs)"),
        ])
    total_q = int(q["rows"].sum()) if q.height else 0
    return html.Div([
        section("Last validation", verdict),
        section(f"Loads ({len(loads)}; {human(total_q)} rows quarantined in all)", table(
            "dq-loads", loads_df, "quality"),
            note="Rows in = accepted + quarantined, for every load."),
        section("Quarantined rows by table and rule", table("dq-quarantine", q, "quality")
                if q.height else empty("Nothing quarantined."),
                note="Each quarantined row is kept in LAKE/quarantine/<table>/ with its file, "
                     "line and reason."),
    ])


def register(app, reader) -> None:
    """No callbacks."""
