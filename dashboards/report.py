"""A one-page campaign report a manager can mail: PDF or PNG, from the same marts.

`report_html` writes the page (the verdict's numbers, reach per network beside the
potential reach others report, reach over time, the largest cascades and top amplifiers,
uplift with its intervals and what it assumes); `render` prints it with the headless
Chromium the dashboard tests use, offline: the chart's plotly.js is inlined from
dashboards/assets, and nothing is fetched. The privacy threshold of the reader applies,
as everywhere a mart leaves the lake.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import plotly.io as pio
import polars as pl

from reach.errors import ReachError, UsageError

from .format import human, pct, signed_pct
from .pages.campaign import timeline_figure
from .pages.compare import UPLIFT_NOTE
from .pages.verdict import how_counted, verdict_rows

PLOTLY_JS = Path(__file__).parent / "assets" / "plotly-basic.min.js"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--run-all-compositor-stages-before-draw", "--virtual-time-budget=15000")
STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #111827;
       margin: 28px 36px; font-size: 12.5px; }
h1 { font-size: 22px; margin: 0 0 2px; } h2 { font-size: 15px; margin: 16px 0 4px; }
.sub { color: #4b5563; margin: 0 0 10px; }
.cards { display: flex; gap: 10px; margin: 8px 0; }
.card { flex: 1; border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px 12px; }
.big { font-size: 22px; font-weight: 700; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: right; padding: 3px 6px; border-bottom: 1px solid #eef0f3; }
th:first-child, td:first-child { text-align: left; }
.note { color: #4b5563; font-size: 11px; }
@page { size: A4; margin: 10mm; }
@media print { body { zoom: 0.78; margin: 0; } }  /* one A4 page, as the PNG shows it */
"""


def report_html(reader, campaign: str) -> str:
    """The report page for one campaign, self-contained."""
    campaigns = reader.campaigns()
    row = campaigns.filter(pl.col("campaign_id") == campaign)
    if row.height == 0:
        known = ", ".join(campaigns["campaign_id"].head(10).to_list())
        raise UsageError(f"no campaign {campaign!r} in the marts; campaigns: {known}")
    name = row["name"][0]
    data = reader.compare([campaign], reader.networks() + ["all"])
    verdict = verdict_rows(data["reach"], data["uplift"]).row(0, named=True)
    how = how_counted(verdict)
    cards = [  # (what, the number, how to read it)
        ("distinct people reached", _count(verdict["people"]), how),
        ("potential-reach sum", _count(verdict["potential"]),
         f"overstates it by {pct(verdict['overstated'])}"
         if verdict["overstated"] is not None else ""),
        ("only through reshares", pct(verdict["reshare_share"]), "of the distinct people"),
        ("engagement", signed_pct(verdict["uplift"]) if verdict["uplift"] is not None
         else "–", f"on {verdict['uplift_network']}, significant (an association)"
         if verdict["uplift"] is not None else "no significant uplift")]
    reach = data["reach"].filter(pl.col("network") != "all").sort("total_reach",
                                                                  descending=True,
                                                                  nulls_last=True)
    parts = [
        f"<h1>{escape(name)}</h1>",
        f"<p class='sub'>Campaign {escape(campaign)} · report of "
        f"{datetime.now(UTC):%d %b %Y, %H:%M} UTC · reach</p>",
        "<div class='cards'>" + "".join(
            f"<div class='card'><div class='note'>{escape(what)}</div>"
            f"<div class='big'>{escape(number)}</div>"
            f"<div class='note'>{escape(words)}</div></div>"
            for what, number, words in cards) + "</div>",
        "<h2>Reach per network</h2>",
        _table(reach, {"network": "network", "first_degree_reach": "first degree",
                       "second_degree_reach": "added by reshares",
                       "total_reach": "distinct people", "potential_reach": "potential reach",
                       "method": "how"}),
    ]
    tl = reader.timeline(campaign)
    if tl.height:
        fig = timeline_figure(tl)
        fig.update_layout(height=260, margin={"l": 50, "r": 10, "t": 40, "b": 30})
        parts += ["<h2>Reach over time</h2>",
                  pio.to_html(fig, include_plotlyjs=False, full_html=False,
                              config={"staticPlot": True})]
    cascades = reader.cascades(campaign, limit=5)
    if cascades.height:
        parts += ["<h2>Largest cascades</h2>", _table(cascades, {
            "network": "network", "post_id": "post", "root_account_id": "author",
            "size": "reshares", "depth": "depth", "total_reach": "people reached"})]
    amp = reader.amplifiers(campaign)
    if amp.height:
        top = amp.filter(pl.col("role") != "author").sort("shapley_reach", descending=True,
                                                          nulls_last=True).head(5)
        parts += ["<h2>Top amplifiers (Shapley credit of distinct reach)</h2>", _table(top, {
            "network": "network", "account_id": "account", "shapley_reach": "people (credit)",
            "incremental_reach": "only they reached", "shares_triggered": "reshares triggered"})]
    up = data["uplift"].filter(pl.col("method") == "nb_glm", pl.col("network") != "all")
    if up.height:
        shown = up.with_columns(
            pl.struct("uplift", "ci_low", "ci_high").map_elements(
                lambda r: "–" if r["uplift"] is None else
                f"{signed_pct(r['uplift'])} ({signed_pct(r['ci_low'])} to "
                f"{signed_pct(r['ci_high'])})", return_dtype=pl.String).alias("uplift_ci"),
            pl.col("warning").fill_null(""))
        parts += ["<h2>Engagement uplift (95 % intervals)</h2>", _table(shown, {
            "network": "network", "uplift_ci": "uplift", "p_adjusted": "adjusted p",
            "n_campaign_posts": "campaign posts", "warning": "why no number"}),
            f"<p class='note'>{escape(UPLIFT_NOTE.split(' Hover')[0])}</p>"]
    parts.append("<p class='note'>Distinct people are counted once however many authors and "
                 "resharers they follow; the potential reach is the sum of follower counts "
                 "that commercial suites report. Definitions: docs/marts.md of reach.</p>")
    script = f"<script>{PLOTLY_JS.read_text()}</script>" if tl.height else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(name)}</title>"
            f"<style>{STYLE}</style>{script}</head><body>{''.join(parts)}</body></html>")


def _count(n) -> str:
    return "unknown" if n is None else f"{n:,}"


def _table(df: pl.DataFrame, columns: dict[str, str]) -> str:
    cols = [c for c in columns if c in df.columns]
    head = "".join(f"<th>{escape(columns[c])}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in r) + "</tr>"
                   for r in df.select(cols).rows())
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return human(round(v)) if abs(v) >= 10 else f"{v:.3g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise ReachError("the report is printed by headless Chromium, which is not installed "
                         "(Debian: apt-get install chromium; `make system-deps` does it)")
    return found


def render(html: str, out: Path) -> Path:
    """Print the page to ``out``: PDF for .pdf, PNG (A4 proportions) for .png."""
    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".png"):
        raise UsageError(f"{out}: the report is written as .pdf or .png")
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reach-report-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        what = ([f"--print-to-pdf={out}", "--no-pdf-header-footer"] if suffix == ".pdf"
                else [f"--screenshot={out}", "--window-size=1240,1754"])
        cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
               *what, page.as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise ReachError("Chromium did not finish printing the report in 120 s") from None
    if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise ReachError(f"Chromium could not print the report ({done.returncode}): "
                         f"{done.stderr.strip()[-400:]}")
    return out
