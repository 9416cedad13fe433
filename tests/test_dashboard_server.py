"""The dashboard's server side without a browser: who may see it, what it may read, and the
first view that comes with the layout."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards import app as dash_app

from .ports import free_port


@pytest.fixture(scope="module")
def app(sample_lake):
    return dash_app.build_app(sample_lake[0])


def _client(app):
    return app.server.test_client()


def _layout_ids(client, referrer: str | None) -> set[str]:
    headers = {"Referer": referrer} if referrer else {}
    resp = client.get("/_dash-layout", headers=headers, base_url="http://127.0.0.1:8050")
    assert resp.status_code == 200
    ids: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("props"), dict) and "id" in node["props"]:
                ids.add(node["props"]["id"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(resp.get_json())
    return ids


def test_the_layout_comes_with_the_page_the_browser_asked_for(app):
    client = _client(app)
    compare = _layout_ids(client, "http://127.0.0.1:8050/?campaigns=c001,c002")
    assert {"cmp-campaigns", "cmp-reach", "cmp-drawn"} <= compare
    assert "cp-campaign" in _layout_ids(client, "http://127.0.0.1:8050/campaign")
    # No referrer, or another site's: an empty frame that the route callback fills.
    for ref in (None, "http://elsewhere.example/campaign"):
        ids = _layout_ids(client, ref)
        assert "page" in ids and not any(i.startswith(("cmp-", "cp-")) for i in ids)


def _export(client, mart: str, fmt: str = "csv"):
    body = {"output": "..ex-download.data...ex-note.children..",
            "outputs": [{"id": "ex-download", "property": "data"},
                        {"id": "ex-note", "property": "children"}],
            "inputs": [{"id": "ex-go", "property": "n_clicks", "value": 1}],
            "changedPropIds": ["ex-go.n_clicks"],
            "state": [{"id": "ex-mart", "property": "value", "value": mart},
                      {"id": "ex-format", "property": "value", "value": fmt},
                      {"id": "url", "property": "search", "value": "?campaigns=c001"}]}
    resp = client.post("/_dash-update-component", data=json.dumps(body),
                       content_type="application/json")
    assert resp.status_code == 200
    return resp.get_json()["response"]


def test_export_reads_only_marts_inside_the_lake(app, sample_lake):
    client = _client(app)
    ok = _export(client, "reach")
    assert ok["ex-download"]["data"]["filename"] == "reach.csv"
    text = base64.b64decode(ok["ex-download"]["data"]["content"]).decode() \
        if ok["ex-download"]["data"]["base64"] else ok["ex-download"]["data"]["content"]
    want = sample_lake[1]["reach"].filter(campaign_id="c001").height
    assert len(text.strip().splitlines()) == want + 1  # header + the campaign's rows
    for hostile in ("../../../etc/passwd", "/etc/passwd", "reach/../../x", "tables"):
        refused = _export(client, hostile)
        assert refused["ex-download"]["data"] is None
        assert "Unknown mart" in json.dumps(refused["ex-note"])


def test_data_docs_are_served_from_inside_the_lake_only(app):
    client = _client(app)
    for path in ("/lake-docs/../../../../etc/passwd", "/lake-docs/%2e%2e/%2e%2e/etc/passwd",
                 "/lake-docs/..%2f..%2fmanifest.json"):
        assert client.get(path).status_code == 404


def test_off_loopback_every_request_needs_the_login(sample_lake, monkeypatch):
    monkeypatch.setenv("REACH_DASHBOARD_USER", "ana")
    monkeypatch.setenv("REACH_DASHBOARD_PASSWORD", "s3cret:with colon")
    app = dash_app.build_app(sample_lake[0])
    dash_app.protect(app, "0.0.0.0")
    client = _client(app)
    for path in ("/", "/_dash-layout", "/lake-docs/index.html", "/export"):
        resp = client.get(path)
        assert resp.status_code == 401 and "Basic" in resp.headers["WWW-Authenticate"]
    wrong = base64.b64encode(b"ana:guess").decode()
    assert client.get("/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    good = base64.b64encode(b"ana:s3cret:with colon").decode()
    assert client.get("/", headers={"Authorization": f"Basic {good}"}).status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_credentials_that_are_set_are_enforced_on_loopback_too(sample_lake, monkeypatch,
                                                               host):
    monkeypatch.setenv("REACH_DASHBOARD_USER", "ana")
    monkeypatch.setenv("REACH_DASHBOARD_PASSWORD", "pw")
    compared = []
    real = dash_app.hmac.compare_digest
    monkeypatch.setattr(dash_app.hmac, "compare_digest",
                        lambda a, b: compared.append(1) or real(a, b))
    app = dash_app.build_app(sample_lake[0])
    dash_app.protect(app, host)
    client = _client(app)
    assert client.get("/").status_code == 401
    good = base64.b64encode(b"ana:pw").decode()
    assert client.get("/", headers={"Authorization": f"Basic {good}"}).status_code == 200
    assert len(compared) == 2  # every check is a constant-time comparison


def test_loopback_needs_no_login_and_public_needs_credentials(sample_lake, monkeypatch):
    from reach.errors import UsageError
    monkeypatch.delenv("REACH_DASHBOARD_USER", raising=False)
    monkeypatch.delenv("REACH_DASHBOARD_PASSWORD", raising=False)
    app = dash_app.build_app(sample_lake[0])
    dash_app.protect(app, "127.0.0.1")
    assert _client(app).get("/").status_code == 200
    with pytest.raises(UsageError, match="REACH_DASHBOARD_USER"):
        dash_app.protect(dash_app.build_app(sample_lake[0]), "192.168.1.20")


def test_the_small_plotly_bundle_is_used_only_at_plotlys_own_version(monkeypatch):
    import plotly.offline
    vendored = dash_app.plotly_basic_version()
    assert vendored, "dashboards/assets/plotly-basic.min.js is missing its version header"
    monkeypatch.setattr(plotly.offline, "get_plotlyjs_version", lambda: vendored)
    assert dash_app._assets_ignore() == ""
    monkeypatch.setattr(plotly.offline, "get_plotlyjs_version", lambda: "0.0.1")
    assert dash_app._assets_ignore() == r"plotly-basic\.min\.js"


def test_compare_says_when_it_shows_only_the_first_six(sample_lake):
    from dashboards.pages import compare
    from dashboards.queries import MartReader
    reader = MartReader(sample_lake[0])
    ids = reader.campaigns()["campaign_id"].to_list()
    many = (ids * 7)[:7]
    _, note = compare.headline(reader, many, reader.networks())
    assert "first 6 campaigns" in json.dumps(note.to_plotly_json(), default=str)
    _, note = compare.headline(reader, ids[:1], reader.networks())
    assert "at least two" in json.dumps(note.to_plotly_json(), default=str)
    _, note = compare.headline(reader, ids[:2], reader.networks())
    assert note is None


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=5),
       st.lists(st.sampled_from(["x", "instagram", "a,b", "&", "=", "%2C", " "]), max_size=3))
@settings(max_examples=200, deadline=None)
def test_a_shared_link_opens_exactly_the_selection(campaigns, networks):
    """Any ids (commas, ampersands, percent signs, spaces…) survive the URL round trip."""
    from dashboards import state
    search = state.with_values("", campaigns=campaigns, networks=networks or None)
    back = state.parse(search)
    assert back["campaigns"] == campaigns
    assert back.get("networks", []) == networks
    assert state.parse("?campaigns=c001,c002")["campaigns"] == ["c001", "c002"]  # old links


def test_no_chart_offers_to_upload_itself_and_downloads_have_names(app):
    """Every graph in every page layout: no 'share'/'edit in Chart Studio' (they upload to
    a third-party cloud), no server URL, and a PNG named after the chart."""
    client = _client(app)
    graphs = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "Graph":
                graphs.append(node["props"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    for page in ("", "campaign", "waves", "what-if", "attribution", "quality", "export"):
        resp = client.get("/_dash-layout", base_url="http://127.0.0.1:8050",
                          headers={"Referer": f"http://127.0.0.1:8050/{page}"})
        walk(resp.get_json())
    assert len(graphs) >= 1  # the others are drawn by callbacks, through the same helper:
    from pathlib import Path
    pages = Path(dash_app.__file__).parent
    built = [f for f in pages.rglob("*.py") if "dcc.Graph(" in f.read_text()]
    assert [f.name for f in built] == ["common.py"]
    for props in graphs:
        config = props["config"]
        assert config["showSendToCloud"] is False and config["showEditInChartStudio"] is False
        assert config["plotlyServerURL"] == ""
        assert {"sendDataToCloud", "editInChartStudio"} <= set(config["modeBarButtonsToRemove"])
        from datetime import UTC, datetime
        name = config["toImageButtonOptions"]["filename"]
        assert name.startswith("reach-") and name.endswith(f"{datetime.now(UTC):%Y-%m-%d}")
        if props["id"] == "cmp-reach":  # the page and the campaigns it compares
            assert name.startswith("reach-compare-reach-c0"), name


def test_what_if_offers_the_largest_audiences_first(sample_lake):
    """The candidates are the accounts with the most followers not yet in the campaign,
    in that order (a join used to lose the sort)."""
    import polars as pl

    from dashboards.queries import MartReader
    reader = MartReader(sample_lake[0])
    campaign = reader.campaigns()["campaign_id"][0]
    network = reader.networks()[0]
    cand = reader.candidates(network, campaign, limit=10)
    assert cand.height == 10
    assert cand["followers"].is_sorted(descending=True)
    sk = reader.sketch_table(network).join(reader.account_keys(network), on="account_key")
    outside = sk.filter(~pl.col("account_id").is_in(reader.exposer_ids(campaign, network)))
    assert cand["followers"].to_list() == outside["followers"].sort(descending=True).head(
        10).to_list()


def test_attribution_shows_names_not_ids():
    import polars as pl

    from dashboards.pages.attribution import named
    df = pl.DataFrame({"model": ["markov", "time_decay", "shapley", "linear"],
                       "channel": ["c001", "c001 @ x", "(no touchpoint)", "c002"]})
    campaigns = pl.DataFrame({"campaign_id": ["c001", "c002", "c003"],
                              "name": ["Spring Launch", "Teaser", "Teaser"]})
    got = named(df, campaigns)
    assert got["channel"].to_list() == ["Spring Launch", "Spring Launch @ x",
                                        "(no touchpoint)", "Teaser (c002)"]
    assert got["model"].to_list() == ["Markov chain", "Time decay", "Shapley value", "Linear"]


def test_reach_dashboard_runs_on_a_production_server(sample_lake):
    """`reach dashboard` serves through waitress: pages answer (the first view too), no
    'development server' warning is printed, and Ctrl+C stops it."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-m", "reach_cli.main", "dashboard", "--lake",
                             str(sample_lake[0]), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, status = time.time() + 60, None
        while time.time() < deadline and status != 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    status = r.status
            except OSError:
                time.sleep(0.5)
        assert status == 200
        # the page itself, drawn in the layout request (reads marts: a server that forks
        # after Polars started would hang here)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/_dash-layout",
                                     headers={"Referer": f"http://127.0.0.1:{port}/"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 200 and b"cmp-reach" in r.read()
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert "development server" not in output
    assert f"http://127.0.0.1:{port}" in output


def test_an_estimated_reach_is_drawn_with_its_band_and_named():
    """A `sampled` total is never a bare bar: error bars to its 95 % bounds, and the hover
    and the table say how it was obtained."""
    import polars as pl

    from dashboards.pages.compare import comparison_table, reach_figure
    reach = pl.DataFrame({
        "name": ["Alpha", "Beta"], "campaign_id": ["a", "b"], "network": ["x", "x"],
        "first_degree_reach": [900, 400], "second_degree_reach": [100, 10],
        "total_reach": [1000, 410], "potential_reach": [2000, 500],
        "dedup_ratio": [0.5, 0.82], "method": ["sampled", "exact"], "rel_error": [0.1, 0.0],
        "total_reach_low": [900, 410], "total_reach_high": [1100, 410]})
    fig = reach_figure(reach, ["x"])
    second = next(t for t in fig["data"] if t["name"] == "second degree (reshares)")
    assert second["error_y"]["array"] == [100, 0]
    assert second["error_y"]["arrayminus"] == [100, 0]
    assert "estimated from partial follower lists, 95 % 900–1.1k (±10%)" in \
        second["hovertext"][0]
    assert second["hovertext"][1].endswith("counted")
    table = comparison_table({"reach": reach, "uplift": pl.DataFrame(),
                              "engagement": pl.DataFrame()})
    assert table["reach_obtained"].to_list()[0].startswith("estimated from partial")


def test_compare_puts_the_leader_first_on_each_networks_own_scale():
    import polars as pl

    from dashboards.pages.compare import reach_figure
    reach = pl.DataFrame({
        "name": ["Alpha", "Beta", "Gamma", "Alpha", "Beta"],
        "campaign_id": ["a", "b", "g", "a", "b"],
        "network": ["x", "x", "x", "linkedin", "linkedin"],
        "first_degree_reach": [10, 900_000, 50_000, 300, 40],
        "second_degree_reach": [1, 1, 1, 1, 1],
        "total_reach": [11, 900_001, 50_001, 301, 41],
        "potential_reach": [20, 990_000, 60_000, 400, 50],
        "dedup_ratio": [0.5, 0.9, 0.8, 0.7, 0.8], "method": ["exact"] * 5,
        "rel_error": [0.0] * 5, "total_reach_low": [11, 900_001, 50_001, 301, 41],
        "total_reach_high": [11, 900_001, 50_001, 301, 41]})
    fig = reach_figure(reach, ["linkedin", "x"])
    bars = [t for t in fig["data"] if t["type"] == "bar" and t["name"] == "first degree"]
    assert [b["x"] for b in bars] == [["Alpha", "Beta"], ["Beta", "Gamma", "Alpha"]]
    assert not any("matches" in v for k, v in fig["layout"].items() if k.startswith("yaxis"))


def test_the_verdict_names_the_leader_and_says_why():
    import polars as pl

    from dashboards.pages.verdict import sentence, verdict_rows
    cols = ("campaign_id", "name", "network", "total_reach", "second_degree_reach",
            "potential_reach", "method")
    reach = pl.DataFrame([
        ("a", "Alpha", "x", 800, 200, 1000, "exact"),
        ("a", "Alpha", "fb", 400, 0, 450, "exact"),
        ("a", "Alpha", "all", 1100, 200, 1450, "exact"),
        ("b", "Beta", "x", 900, None, 1200, "sampled"),  # second degree withheld
        ("b", "Beta", "ig", None, None, 300, "no_graph"),
        ("b", "Beta", "all", None, None, 1500, "partial"),
    ], schema=list(cols), orient="row")
    uplift = pl.DataFrame({"campaign_id": ["a", "a"], "network": ["x", "fb"],
                           "method": ["nb_glm"] * 2, "uplift": [0.3, 0.5],
                           "p_adjusted": [0.01, 0.2]})
    rows = verdict_rows(reach, uplift)
    assert rows["campaign_id"].to_list() == ["a", "b"]
    beta = rows.row(1, named=True)
    assert beta["people"] == 900 and beta["overstated"] is None  # a floor: no % claimed
    assert beta["reshare_share"] is None  # withheld is unknown, not 0 %
    cascades = pl.DataFrame({"campaign_id": ["a"], "network": ["x"], "size": [42]})
    amplifiers = pl.DataFrame({"campaign_id": ["a"], "network": ["x"], "account_id": ["7"],
                               "role": ["sharer"], "shapley_reach": [151.6], "rank": [1]})
    text = sentence(rows, cascades, amplifiers,
                    lambda net, aid: "fan" if (net, aid) == ("x", "7") else None)
    assert text == ("Alpha reached the most people: 1,100 distinct. A follower-count sum "
                    "would report 1,450, 32% more. 18% came only through reshares; its best "
                    "network is x, where its largest cascade had 42 reshares and @fan added "
                    "the most (152 people, Shapley credit). Engagement rose +30% on x "
                    "(significant; an association, not proof).")
    only_beta = sentence(rows.filter(pl.col("campaign_id") == "b"), cascades, amplifiers)
    assert only_beta.startswith("Beta reached the most people: 900 distinct (at least: "
                                "some networks withheld or unknown; networks added up, not "
                                "deduplicated; x estimated from partial follower lists, ig "
                                "unknown: no follower lists).")


def test_a_campaign_whose_every_number_is_withheld_is_not_zero():
    import polars as pl

    from dashboards.pages.verdict import how_counted, sentence, verdict_rows
    reach = pl.DataFrame([
        ("a", "Alpha", "x", None, None, 30, "exact"),  # under the privacy threshold
        ("a", "Alpha", "fb", None, None, 12, "sampled"),
        ("a", "Alpha", "all", None, None, 42, "partial"),
    ], schema=["campaign_id", "name", "network", "total_reach", "second_degree_reach",
               "potential_reach", "method"], orient="row")
    rows = verdict_rows(reach, pl.DataFrame())
    row = rows.row(0, named=True)
    assert row["people"] is None
    assert how_counted(row) == "withheld: too few people to publish"
    assert sentence(rows, pl.DataFrame(), pl.DataFrame()).startswith(
        "No campaign's reach can be shown: every number is withheld")


def test_a_missing_bar_says_why():
    import polars as pl

    from dashboards.pages.compare import reach_figure
    reach = pl.DataFrame({
        "name": ["Alpha", "Beta", "Gamma"], "campaign_id": ["a", "b", "g"],
        "network": ["x"] * 3, "first_degree_reach": [900, None, None],
        "second_degree_reach": [100, None, None], "total_reach": [1000, None, None],
        "potential_reach": [2000, 40, None], "dedup_ratio": [0.5, None, None],
        "method": ["exact", "exact", "no_graph"], "rel_error": [0.0, None, None],
        "total_reach_low": [1000, None, None], "total_reach_high": [1000, None, None]})
    words = next(t for t in reach_figure(reach, ["x"])["data"] if t.get("mode") == "text")
    assert words["x"] == ["Beta", "Gamma"]
    assert words["text"] == ["withheld:<br>too few people", "unknown:<br>no follower lists"]


def test_a_fast_recent_severe_wave_is_to_answer_now():
    from datetime import UTC, datetime, timedelta

    import polars as pl

    from dashboards.pages.waves import to_answer_now
    t = datetime(2026, 12, 1, tzinfo=UTC)
    waves = pl.DataFrame({
        "post_id": ["old", "slow", "fresh", "small"],
        "severity": ["high", "high", "medium", "low"],
        "created_at": [t - timedelta(days=5), t, t - timedelta(hours=3), t],
        "time_to_half_s": [600.0, 86_400.0, 1_800.0, 60.0]})
    assert to_answer_now(waves)["post_id"].to_list() == ["fresh"]


def test_a_viewer_login_sees_the_pages_but_exports_nothing(sample_lake, monkeypatch):
    monkeypatch.setenv("REACH_DASHBOARD_USER", "ana")
    monkeypatch.setenv("REACH_DASHBOARD_PASSWORD", "pw")
    monkeypatch.setenv("REACH_VIEWER_PASSWORD", "look")
    app = dash_app.build_app(sample_lake[0])
    dash_app.protect(app, "0.0.0.0", viewer_user="team")
    client = _client(app)

    def auth(who: str) -> dict:
        return {"Authorization": "Basic " + base64.b64encode(who.encode()).decode()}
    viewer, admin = auth("team:look"), auth("ana:pw")
    assert client.get("/", headers=viewer).status_code == 200
    assert client.get("/", headers=auth("team:pw")).status_code == 401
    assert client.get("/lake-docs/index.html", headers=viewer).status_code == 403
    page = client.get("/_dash-layout", headers=viewer | {"Referer": "http://127.0.0.1:8050/export"},
                      base_url="http://127.0.0.1:8050").get_data(as_text=True)
    assert "read-only" in page and "ex-go" not in page
    admin_page = client.get("/_dash-layout", headers=admin | {"Referer": "http://127.0.0.1:8050/export"},
                            base_url="http://127.0.0.1:8050").get_data(as_text=True)
    assert "ex-go" in admin_page
    # the download callback itself refuses the viewer, whatever the page showed
    body = {"output": "..ex-download.data...ex-note.children..",
            "outputs": [{"id": "ex-download", "property": "data"},
                        {"id": "ex-note", "property": "children"}],
            "inputs": [{"id": "ex-go", "property": "n_clicks", "value": 1}],
            "state": [{"id": "ex-mart", "property": "value", "value": "reach"},
                      {"id": "ex-format", "property": "value", "value": "csv"},
                      {"id": "url", "property": "search", "value": ""}],
            "changedPropIds": ["ex-go.n_clicks"]}
    seen = client.post("/_dash-update-component", json=body, headers=viewer).get_json()
    assert seen["response"]["ex-download"]["data"] is None
    got = client.post("/_dash-update-component", json=body, headers=admin).get_json()
    assert got["response"]["ex-download"]["data"]["filename"] == "reach.csv"


def test_a_viewer_needs_its_own_password_and_the_full_login(sample_lake, monkeypatch):
    from reach.errors import UsageError
    monkeypatch.delenv("REACH_VIEWER_PASSWORD", raising=False)
    monkeypatch.setenv("REACH_DASHBOARD_USER", "ana")
    monkeypatch.setenv("REACH_DASHBOARD_PASSWORD", "pw")
    with pytest.raises(UsageError, match="REACH_VIEWER_PASSWORD"):
        dash_app.protect(dash_app.Dash(__name__), "127.0.0.1", viewer_user="team")
    monkeypatch.delenv("REACH_DASHBOARD_USER")
    monkeypatch.setenv("REACH_VIEWER_PASSWORD", "x")
    with pytest.raises(UsageError, match="REACH_DASHBOARD_USER"):
        dash_app.protect(dash_app.Dash(__name__), "127.0.0.1", viewer_user="team")


def _children(pid: int) -> list[int]:
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            out.append(int(status.parent.name))
    return out


def test_workers_share_one_port_and_stop_with_the_parent(sample_lake):
    """`reach dashboard --workers 2`: two spawned processes answer on one port; SIGTERM to
    the parent leaves none behind."""
    import signal
    import subprocess
    import sys
    import time
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from .ports import free_port
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from reach_cli.main import main; sys.exit(main())",
                             "dashboard", "--lake",
                             str(sample_lake[0]), "--port", str(port), "--workers", "2",
                             "--threads", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/_dash-layout"
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.time() < deadline, "the dashboard did not come up"
                time.sleep(0.5)
        workers = [p for p in _children(proc.pid)
                   if "multiprocessing" in Path(f"/proc/{p}/cmdline").read_text()]
        assert len(workers) >= 2, workers
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: urllib.request.urlopen(url, timeout=30).status,
                                  range(40)))
        assert codes == [200] * 40
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        proc.stdout.close()
    time.sleep(1)
    assert [p for p in workers if Path(f"/proc/{p}").exists()
            and "zombie" not in Path(f"/proc/{p}/status").read_text()] == []


def test_a_big_cascade_folds_its_fans_of_leaves_and_opens_one_on_request():
    from datetime import UTC, datetime, timedelta

    import polars as pl

    from dashboards.pages.campaign import FAN, TOP, collapse, tree_figure
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    rows = [("r", None, 0, 0)] + [(f"a{i}", "r", 1, i % 7) for i in range(400)] + [
        (f"b{i}", "a0", 2, 1) for i in range(30)]
    nodes = pl.DataFrame({
        "network": "x", "post_id": "p", "campaign_id": "c",
        "node_id": [r[0] for r in rows], "parent_id": [r[1] for r in rows],
        "account_id": [f"acc_{r[0]}" for r in rows], "depth": [r[2] for r in rows],
        "created_at": [t0 + timedelta(minutes=i) for i in range(len(rows))],
        "reach_added": [r[3] for r in rows], "reconstructed": False})
    folded = collapse(nodes)
    fans = folded.filter(pl.col("folded") > 0).sort("node_id")
    assert fans["node_id"].to_list() == ["a0#fan", "r#fan"]
    # nothing lost: every node is shown or counted in a fan, and so is every person added
    assert folded.filter(pl.col("folded") == 0).height + fans["folded"].sum() == nodes.height
    assert folded["reach_added"].sum() == nodes["reach_added"].sum()
    assert fans.filter(pl.col("node_id") == "r#fan")["account_id"][0] == \
        f"+{399 - TOP:,} direct reshares"  # a0 has children; top amplifiers stay out
    assert folded.filter(pl.col("top")).height == TOP
    opened = collapse(nodes, {"r"})
    assert "r#fan" not in opened["node_id"].to_list() and "a0#fan" in opened["node_id"]
    assert collapse(nodes.head(FAN * 3))["folded"].sum() == 0  # small trees stay whole
    fig = tree_figure(nodes, "x")
    assert "click a square to open it" in fig.layout.title.text
    # as read under a privacy threshold: one more column (found by the load test)
    withheld = nodes.with_columns(pl.lit(None, pl.String).alias("suppressed"))
    assert collapse(withheld).columns == withheld.columns + ["folded", "top"]


def test_the_chosen_dates_reach_every_page(sample_lake):
    """The header's date range goes into the URL and narrows the pages: campaigns active
    then (Compare, Campaign, What if, Export), waves started then, loads made then; the
    attribution page says it covers every conversion."""
    from datetime import UTC, datetime

    import polars as pl

    from dashboards import state
    from dashboards.queries import MartReader
    reader = MartReader(sample_lake[0])
    activity = reader.campaign_activity().sort("first_at")
    first = activity.row(0, named=True)
    lo, hi = first["first_at"].date(), first["first_at"].date()
    dates = state.dates(state.parse(f"?from={lo}&to={hi}"))
    assert dates[0] == datetime(lo.year, lo.month, lo.day, tzinfo=UTC)
    active = reader.campaigns(dates)["campaign_id"].to_list()
    expect = activity.filter(pl.col("first_at") < dates[1],
                             pl.col("last_at") >= dates[0])["campaign_id"].to_list()
    assert first["campaign_id"] in active and sorted(active) == sorted(expect)
    assert len(active) < reader.campaigns().height
    assert state.dates(state.parse("?from=yesterday")) is None
    app = dash_app.build_app(sample_lake[0])
    client = _client(app)
    deps = client.get("/_dash-dependencies").get_json()
    cb = next(d for d in deps if any(i["id"] == "dates" for i in d["inputs"]))
    body = {"output": cb["output"], "outputs": [
                {"id": o.split(".")[0].lstrip("."), "property": o.split(".")[1].split("@")[0]}
                for o in cb["output"].strip(".").split("...")],
            "inputs": [{"id": "dates", "property": "start_date", "value": str(lo)},
                       {"id": "dates", "property": "end_date", "value": str(hi)}],
            "state": [{"id": "url", "property": "pathname", "value": "/"},
                      {"id": "url", "property": "search", "value": "?networks=x"}],
            "changedPropIds": ["dates.start_date"]}
    resp = client.post("/_dash-update-component", json=body).get_json()["response"]
    search = resp["url"]["search"]
    assert f"from={lo}" in search and f"to={hi}" in search and "networks=x" in search
    page = json.dumps(resp["page"]["children"])
    for cid in reader.campaigns()["campaign_id"].to_list():  # the dropdown's options
        assert (f'"value": "{cid}"' in page) == (cid in active), cid
    nav = json.dumps(resp["nav"]["children"])
    assert f"from={lo}" in nav  # every link keeps the dates
