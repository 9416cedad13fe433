"""Dashboard latency on a large lake: every callback's server time (p50/p95) while a headless
Chromium walks the pages with different selections, and the first page load.

Targets: callback p95 < 300 ms; first page load (navigation to the reach figure drawn)
< 2 s. Needs marts on the lake: `reach compute --lake .bench/lake` (bench_reach builds it).

    python benchmarks/bench_dashboard.py [--lake .bench/lake] [--rounds 12]
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
        if request.path == "/_dash-update-component":
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
    a = ap.parse_args()
    if not (a.lake / "marts" / "reach.parquet").exists():
        raise SystemExit(f"no marts in {a.lake}: run `reach compute --lake {a.lake}` first")
    import polars as pl
    follows = pl.scan_parquet(a.lake / "tables" / "follows" / "*" / "*.parquet").select(
        pl.len()).collect().item()
    reach = pl.read_parquet(a.lake / "marts" / "reach.parquet")
    campaigns = sorted(reach["campaign_id"].unique().to_list())
    url, timings, httpd = serve(a.lake)
    driver = browser()
    try:
        t0 = time.perf_counter()
        driver.get(url + "/")
        wait_for(driver, "#cmp-reach .js-plotly-plot")
        first = time.perf_counter() - t0
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
    print(f"first page load (cold, to the reach figure drawn): {first:.2f} s (target < 2 s); "
          f"later loads p50 {statistics.median(loads):.2f} s")
    print(f"{'callback output':62}{'n':>4}{'p50 ms':>9}{'p95 ms':>9}")
    worst = 0.0
    for name, ts in sorted(timings.items()):
        ts = sorted(ts)
        p95 = ts[min(len(ts) - 1, int(round(0.95 * (len(ts) - 1))))] * 1000
        worst = max(worst, p95)
        print(f"{name:62}{len(ts):4}{statistics.median(ts) * 1000:9.0f}{p95:9.0f}")
    print(f"worst callback p95: {worst:.0f} ms (target < 300 ms)")


if __name__ == "__main__":
    main()
