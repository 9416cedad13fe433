"""Dashboard latency on a large lake: every callback's server time (p50/p95) while a headless
Chromium walks the pages with different selections, and the first page load.

Targets: callback p95 < 300 ms; first page load < 2 s. A first page load is a visit with an
empty cache in a fresh, already started browser, from navigation to the reach figure drawn
(timed inside the page); the median of --cold such visits is printed, with the time until
every figure and the table are drawn. Needs marts on the lake: `reach compute --lake
.bench/lake` (bench_reach builds it).

    python benchmarks/bench_dashboard.py [--lake .bench/lake] [--rounds 12] [--cold 5]
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit


def serve(lake: Path):
    from flask import g, request
    from werkzeug.serving import make_server

    from dashboards.app import build_app
    app = build_app(lake)
    timings: dict[str, list[float]] = defaultdict(list)

    @app.server.before_request
    def _start():
        g.t0 = time.perf_counter()

    @app.server.after_request
    def _stop(resp):
        if request.path == "/_dash-layout":  # the page requested is drawn in this request
            page = urlsplit(request.referrer or "").path or "/"
            timings[f"layout of {page}"].append(time.perf_counter() - g.t0)
        elif request.path == "/_dash-update-component":
            body = json.loads(request.data or b"{}")
            timings[body.get("output", "?").split("@")[0][:60]].append(
                time.perf_counter() - g.t0)
        return resp
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    httpd = make_server("127.0.0.1", port, app.server, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}", timings, httpd


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1366,768"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


# Recorded inside the page: when each compare figure and the table first appear
# (performance.now(), ms since navigation), free of the polling delay of WebDriver.
MARK_DRAWS = """
window.__drawn = {};
const mark = () => { for (const id of ['cmp-reach', 'cmp-uplift', 'cmp-rate', 'cmp-table']) {
  if (!(id in window.__drawn) && document.querySelector('#' + id + ' .main-svg, #' + id + ' td'))
    window.__drawn[id] = performance.now(); } };
document.addEventListener('DOMContentLoaded', () => new MutationObserver(mark).observe(
  document.body, {subtree: true, childList: true}));
"""


def cold_load(url: str) -> dict[str, float]:
    """One first visit in a fresh browser (empty cache): seconds to each figure drawn."""
    driver = browser()
    try:
        driver.get("about:blank")  # a visitor's browser is already running when they click
        time.sleep(1.0)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": MARK_DRAWS})
        driver.get(url + "/")
        end = time.time() + 30
        while len(drawn := driver.execute_script("return window.__drawn || {}")) < 4:
            if time.time() > end:
                raise SystemExit(f"the compare page did not finish drawing: {drawn}")
            time.sleep(0.05)
    finally:
        driver.quit()
    return {k: v / 1000 for k, v in drawn.items()}


def wait_for(driver, css: str, timeout: float = 30) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))
    end = time.time() + timeout
    while time.time() < end and driver.execute_script(
            "return document.title.includes('loading')"):
        time.sleep(0.02)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", type=Path, default=Path(".bench/lake"))
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--cold", type=int, default=5, help="first visits in fresh browsers")
    a = ap.parse_args()
    if not (a.lake / "marts" / "reach.parquet").exists():
        raise SystemExit(f"no marts in {a.lake}: run `reach compute --lake {a.lake}` first")
    import polars as pl

    from etl.lake import Lake
    follows = Lake.open(a.lake).scan("follows").select(pl.len()).collect().item()
    reach = pl.read_parquet(a.lake / "marts" / "reach.parquet")
    campaigns = sorted(reach["campaign_id"].unique().to_list())
    url, timings, httpd = serve(a.lake)
    cold = [cold_load(url) for _ in range(a.cold)]
    driver = browser()
    try:
        loads = []
        rnd = random.Random(1)
        for _ in range(a.rounds):
            pick = ",".join(rnd.sample(campaigns, 4))
            c = rnd.choice(campaigns)
            t0 = time.perf_counter()
            driver.get(f"{url}/?campaigns={pick}")
            wait_for(driver, "#cmp-reach .js-plotly-plot")
            loads.append(time.perf_counter() - t0)
            for path, css in ((f"/campaign?campaign={c}", "#cp-timeline .js-plotly-plot"),
                              ("/waves", "#waves-figure"), ("/attribution?by=campaign_network",
                                                           "#at-figure"),
                              ("/quality", "#dq-loads"), (f"/what-if?campaign={c}",
                                                          "#wi-accounts")):
                driver.get(url + path)
                wait_for(driver, css)
    finally:
        driver.quit()
        httpd.shutdown()
    print(f"\ndashboard on {a.lake}: {follows:,} follow edges, {len(campaigns)} campaigns")
    first = [c["cmp-reach"] for c in cold]
    whole = [max(c.values()) for c in cold]
    print(f"first page load, empty cache, median of {len(cold)} fresh browsers: reach figure "
          f"drawn {statistics.median(first):.2f} s (range {min(first):.2f}–{max(first):.2f}; "
          f"target < 2 s), every figure and the table {statistics.median(whole):.2f} s")
    if loads:
        print(f"later loads (warm cache, to the reach figure) p50 "
              f"{statistics.median(loads):.2f} s")
    print(f"{'callback output, or page layout':62}{'n':>4}{'p50 ms':>9}{'p95 ms':>9}")
    worst = 0.0
    for name, ts in sorted(timings.items()):
        ts = sorted(ts)
        p95 = ts[min(len(ts) - 1, int(round(0.95 * (len(ts) - 1))))] * 1000
        worst = max(worst, p95)
        print(f"{name:62}{len(ts):4}{statistics.median(ts) * 1000:9.0f}{p95:9.0f}")
    print(f"worst callback p95: {worst:.0f} ms (target < 300 ms)")


if __name__ == "__main__":
    main()
