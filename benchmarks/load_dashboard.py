"""The dashboard under a team: 20 simulated users against `reach dashboard --workers 4`.

First a headless Chromium walks every page once (several selections) against an
in-process server that records each request the pages make: the page, its layout, the
callbacks with their exact bodies. Then `reach dashboard --workers 4` serves the same
lake on 127.0.0.1 and --users threads replay those visits for --seconds, each request
timed from the client side (queueing included), each user reading a page for about
--think seconds before the next; users arrive over 10 s and the first 15 s (each
worker's caches filling) are reported apart. Prints p50/p95 per request kind, the
worst callback p95 (budget < 300 ms), and a visit's p95 from its first request to its
last answer (budget < 2 s, as for a first page load; the browser's drawing not counted).

    python benchmarks/load_dashboard.py [--lake .bench/lake] [--workers 4] [--users 20]
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_dashboard import browser, wait_for  # noqa: E402

PAGES = (("/?campaigns={pick}", "#cmp-reach .js-plotly-plot"),
         ("/campaign?campaign={one}", "#cp-timeline .js-plotly-plot"),
         ("/waves", "#waves-figure"), ("/what-if?campaign={one}", "#wi-accounts"),
         ("/attribution?by=campaign_network", "#at-figure"), ("/quality", "#dq-loads"))


def record(lake: Path, rounds: int) -> list[list[tuple[str, str, bytes]]]:
    """Visits as the pages make them: [(method, path, body)] per page visit."""
    import socket

    from flask import request
    from werkzeug.serving import make_server

    from dashboards.app import build_app
    from dashboards.queries import MartReader
    app = build_app(lake)
    visits: list[list[tuple[str, str, bytes]]] = []

    @app.server.before_request
    def _keep():
        if request.path.startswith("/_dash-component-suites") or request.path.startswith(
                "/assets") or request.path == "/favicon.ico":
            return  # static files: a browser caches them after the first visit
        if not request.path.startswith("/_"):
            visits.append([])
        if visits:
            visits[-1].append((request.method, request.full_path.rstrip("?"),
                               request.get_data()))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    httpd = make_server("127.0.0.1", port, app.server, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    campaigns = MartReader(lake).campaigns()["campaign_id"].to_list()
    rnd = random.Random(3)
    driver = browser()
    try:
        for _ in range(rounds):
            pick = ",".join(rnd.sample(campaigns, min(4, len(campaigns))))
            one = rnd.choice(campaigns)
            for path, css in PAGES:
                driver.get(f"http://127.0.0.1:{port}" + path.format(pick=pick, one=one))
                wait_for(driver, css)
                time.sleep(0.3)  # the callbacks that follow the first figure
    finally:
        driver.quit()
        httpd.shutdown()
    return [v for v in visits if v]


def kind(method: str, path: str, body: bytes) -> str:
    if path.startswith("/_dash-update-component"):
        return "callback " + json.loads(body or b"{}").get("output", "?").split("@")[0][:50]
    return f"{method} {path.split('?')[0]}"


def replay(base: str, visits, users: int, seconds: float, think: float,
           ramp: float = 10.0, warmup: float = 15.0):
    timings: dict[str, list[float]] = defaultdict(list)
    visit_times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    end = time.time() + seconds
    started = time.perf_counter()
    slow: list[tuple[float, float, str]] = []

    def user(seed: int) -> None:
        rnd = random.Random(seed)
        time.sleep(seed * ramp / users)  # people arrive over the first `ramp` seconds
        while time.time() < end:
            visit = rnd.choice(visits)
            t_visit = time.perf_counter()
            for method, path, body in visit:
                req = urllib.request.Request(base + path, data=body or None, method=method,
                                             headers={"Content-Type": "application/json"})
                t0 = time.perf_counter()
                try:
                    with urllib.request.urlopen(req, timeout=60) as resp:
                        resp.read()
                except OSError as e:
                    with lock:
                        errors.append(f"{path}: {e}")
                    continue
                with lock:
                    if t0 - started >= warmup:  # each worker's caches fill in the warm-up
                        timings[kind(method, path, body)].append(time.perf_counter() - t0)
                    slow.append((time.perf_counter() - t0, t0 - started,
                                 kind(method, path, body)))
            with lock:
                visit_times.append(time.perf_counter() - t_visit)
            time.sleep(rnd.uniform(0.5, 1.5) * think)  # reading the page
    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cold = [x for x in slow if x[1] < warmup]
    if cold:
        took, at, what = max(cold)
        print(f"warm-up (first {warmup:.0f} s, users arriving over {ramp:.0f} s, not counted "
              f"below): slowest {took * 1000:.0f} ms at {at:.1f} s, {what}")
    return timings, visit_times, errors


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", type=Path, default=Path(".bench/lake"))
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rounds", type=int, default=3, help="recorded walks over every page")
    ap.add_argument("--think", type=float, default=2.0,
                    help="mean seconds a user reads a page before the next (0: none)")
    a = ap.parse_args()
    if not (a.lake / "marts" / "reach.parquet").exists():
        raise SystemExit(f"no marts in {a.lake}: run `reach compute --lake {a.lake}` first")
    visits = record(a.lake, a.rounds)
    print(f"recorded {len(visits)} page visits, {sum(map(len, visits))} requests")
    from tests.ports import free_port
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "import sys; from reach_cli.main import main; sys.exit(main())",
         "dashboard", "--lake", str(a.lake), "--port", str(port), "--workers",
         str(a.workers), "--threads", str(a.threads)], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)  # waitress warns of every queued request
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.time()
        while True:
            try:
                urllib.request.urlopen(base + "/_dash-layout", timeout=5).read()
                break
            except OSError:
                if server.poll() is not None or time.time() - t0 > 300:
                    raise SystemExit("the dashboard did not come up") from None
                time.sleep(0.5)
        print(f"{a.workers} workers × {a.threads} threads up in {time.time() - t0:.1f} s; "
              f"{a.users} users for {a.seconds:.0f} s, reading each page ~{a.think:.0f} s ...")
        timings, visit_times, errors = replay(base, visits, a.users, a.seconds, a.think)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    n = sum(map(len, timings.values()))
    print(f"\n{n:,} requests ({n / a.seconds:.0f}/s), {len(visit_times):,} page visits, "
          f"{len(errors)} errors")
    print(f"{'request':62}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}")
    worst = 0.0
    for name, ts in sorted(timings.items()):
        if name.startswith("callback"):
            worst = max(worst, p95(ts))
        print(f"{name:62}{len(ts):6}{statistics.median(ts) * 1000:9.0f}{p95(ts) * 1000:9.0f}")
    print(f"worst callback p95 {worst * 1000:.0f} ms (budget < 300 ms); a page visit's "
          f"requests p95 {p95(visit_times):.2f} s (budget < 2 s)")
    for e in errors[:5]:
        print("error:", e)


if __name__ == "__main__":
    main()
