"""The dashboard in a real browser: Debian's headless Chromium driven through chromedriver.

Every page loads without console errors (screenshots land in tests/artifacts/), the
figures carry the marts' numbers for the selection in the URL, an export reads back in
Polars with the same rows, and the What-if answer equals the library call.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import polars as pl
import pytest

from dashboards import state as st

from .ports import free_port

ARTIFACTS = Path(os.environ.get("REACH_ARTIFACTS", Path(__file__).parent / "artifacts"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _browser_or_skip():
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        if os.environ.get("REACH_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver are missing; `make system-deps` installs "
                        "Debian's chromium and chromium-driver")
        pytest.skip("chromium/chromedriver not installed (Debian: chromium chromium-driver)")


@pytest.fixture(scope="module")
def server(sample_lake):
    from werkzeug.serving import make_server

    from dashboards.app import build_app
    lake, _ = sample_lake
    port = free_port()
    httpd = make_server("127.0.0.1", port, build_app(lake).server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    downloads = tmp_path_factory.mktemp("downloads")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1366,768",
                 f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.downloads = downloads
    yield driver
    driver.quit()


def _wait(driver, css: str, timeout: float = 20):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def _settle(driver, timeout: float = 20) -> None:
    """Until Dash has no callback in flight (no loading spinners, title back to normal)."""
    end = time.time() + timeout
    while time.time() < end:
        busy = driver.execute_script(
            "return document.title.includes('loading') || "
            "document.querySelectorAll('[data-dash-is-loading=\"true\"]').length > 0")
        if not busy:
            time.sleep(0.3)
            return
        time.sleep(0.1)


def _figure(driver, graph_id: str) -> list[dict]:
    """The plotted traces (decoded: plotly ships numeric arrays base64-encoded)."""
    _wait(driver, f"#{graph_id} .js-plotly-plot")
    return driver.execute_script(
        "const g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "const arr = v => v == null ? [] : Array.from(v);"
        "return g._fullData.map(t => ({name: t.name, x: arr(t.x), y: arr(t.y), "
        "xaxis: t.xaxis}));",
        f"#{graph_id}")


def _console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


PAGES = {"": "#cmp-reach", "campaign": "#cp-timeline", "waves": "#waves-figure",
         "what-if": "#wi-campaign", "attribution": "#at-figure", "quality": "#dq-loads",
         "export": "#ex-mart"}


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_loads_without_console_errors(server, browser, page):
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(f"{server}/{page}")
    _wait(browser, PAGES[page])
    _settle(browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1366, 768)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1366, min(max(height, 768), 4000))
    browser.save_screenshot(str(ARTIFACTS / f"page-{page or 'compare'}.png"))
    browser.set_window_size(1366, 768)
    assert _console_errors(browser) == []
    assert "Traceback" not in browser.page_source


def test_selected_campaigns_show_their_numbers(server, browser, sample_lake):
    _, marts = sample_lake
    reach = marts["reach"]
    names = {c: c for c in reach["campaign_id"].to_list()}
    from dashboards.queries import MartReader
    names |= dict(MartReader(sample_lake[0]).campaigns().select("campaign_id", "name").rows())
    ids = sorted(reach["campaign_id"].unique().to_list())
    for chosen in (ids[:2], ids[-2:]):
        browser.get(f"{server}/?campaigns={','.join(chosen)}")
        _settle(browser)
        traces = _figure(browser, "cmp-reach")
        firsts = [t for t in traces if t["name"] == "first degree"]
        networks = sorted(n for n in reach.filter(pl.col("campaign_id").is_in(chosen))[
            "network"].unique().to_list() if n != "all")
        got = {}
        for t, net in zip(firsts, networks, strict=True):  # one facet per network, in order
            for name, y in zip(t["x"], t["y"], strict=True):
                got[(name, net)] = y
        want = {(names[c], n): f for c, n, f in reach.filter(
            pl.col("campaign_id").is_in(chosen), pl.col("network") != "all").select(
            "campaign_id", "network", "first_degree_reach").rows()}
        assert got == want
        assert st.parse(urlsplit(browser.current_url).query)["campaigns"] == chosen
        # the verdict names the campaign with the most distinct people, with its number
        totals = dict(reach.filter(pl.col("campaign_id").is_in(chosen),
                                   pl.col("network") == "all")
                      .select("campaign_id", "total_reach").rows())
        if None not in totals.values():
            leader = max(chosen, key=lambda c: (totals[c], c))
            verdict = browser.find_element("css selector", "#cmp-verdict").text
            assert verdict.startswith(f"{names[leader]} reached the most people: "
                                      f"{totals[leader]:,} distinct"), verdict


def test_changing_the_selection_redraws_and_keeps_it_in_the_url(server, browser, sample_lake):
    """Unticking a network redraws the reach figure and the figures below it without that
    network, and writes the new selection into the URL (a link to send)."""
    from selenium.webdriver.common.by import By
    _, marts = sample_lake
    ids = sorted(marts["reach"]["campaign_id"].unique().to_list())[:2]
    browser.get(f"{server}/?campaigns={','.join(ids)}")
    _wait(browser, "#cmp-uplift .js-plotly-plot")
    _settle(browser)
    networks = sorted({t["name"] for t in _figure(browser, "cmp-uplift")})
    assert len(networks) > 1
    dropped = networks[0]
    box = browser.find_element(By.CSS_SELECTOR, f"#cmp-networks input[value='{dropped}']")
    box.click()
    end = time.time() + 20
    while time.time() < end and dropped in {t["name"] for t in _figure(browser, "cmp-uplift")}:
        time.sleep(0.1)
    _settle(browser)
    assert {t["name"] for t in _figure(browser, "cmp-uplift")} == set(networks[1:])
    facets = {t["xaxis"] for t in _figure(browser, "cmp-reach") if t["name"] == "first degree"}
    assert len(facets) == len(networks) - 1
    state = st.parse(urlsplit(browser.current_url).query)
    assert state["campaigns"] == ids and dropped not in state["networks"]


def test_export_downloads_the_selected_rows(server, browser, sample_lake):
    from selenium.webdriver.common.by import By
    lake, marts = sample_lake
    chosen = sorted(marts["reach"]["campaign_id"].unique().to_list())[:2]
    browser.get(f"{server}/export?campaigns={','.join(chosen)}")
    _wait(browser, "#ex-go")
    _settle(browser)
    for f in browser.downloads.glob("*"):
        f.unlink()
    browser.find_element(By.ID, "ex-go").click()  # the default: the first mart, Parquet
    end = time.time() + 20
    files = []
    while time.time() < end and not files:
        files = [f for f in browser.downloads.glob("*.parquet")]
        time.sleep(0.2)
    assert files, "no file downloaded"
    got = pl.read_parquet(files[0])
    mart = files[0].stem
    want = marts[mart]
    if "campaign_id" in want.columns:
        want = want.filter(pl.col("campaign_id").is_in(chosen))
    assert got.sort(got.columns).equals(want.sort(want.columns))


def _pick_account(browser, account: str) -> None:
    """As a person would: open the candidates, type the account, click its option."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    browser.find_element(By.ID, "wi-accounts").click()
    _wait(browser, "input.dash-dropdown-search").send_keys(account)
    _settle(browser)
    time.sleep(0.5)
    options = [o for o in browser.find_elements(By.CSS_SELECTOR, "[role=option]")
               if account in o.text]
    assert options, f"{account} not offered"
    options[0].click()
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    _settle(browser)


def test_what_if_matches_the_library(server, browser, sample_lake):

    from dashboards.queries import MartReader
    from reach.followers.sketches import SketchStore, what_if
    lake, marts = sample_lake
    reader = MartReader(lake)
    amp = marts["amplifiers"]
    campaign, network = amp.select("campaign_id", "network").row(0)
    candidates = reader.candidates(network, campaign)["account_id"].head(2).to_list()
    browser.get(f"{server}/what-if?campaign={campaign}&network={network}")
    _wait(browser, "#wi-accounts")
    _settle(browser)
    for account in candidates:
        _pick_account(browser, account)
    shown = float(_wait(browser, "#wi-estimate").get_attribute("data-estimate"))
    # the library, called directly on the stored sketches
    from etl.lake import Lake
    keys = Lake.open(lake).read("_account_keys").filter(pl.col("network") == network)
    key = dict(zip(keys["account_id"], keys["account_key"], strict=True))
    cell = amp.filter(pl.col("campaign_id") == campaign, pl.col("network") == network)
    store = SketchStore(pl.read_parquet(lake / "sketches" / "followers.parquet").filter(
        pl.col("network") == network))
    est = what_if(store, np.array([key[a] for a in cell["account_id"]]),
                  np.array([key[a] for a in candidates]),
                  excluded=np.array([key[a] for a in cell.filter(
                      pl.col("role") == "author")["account_id"]]))
    assert shown == pytest.approx(est.estimate, rel=1e-9)
    browser.save_screenshot(str(ARTIFACTS / "page-what-if-answer.png"))


def _column(driver, table_id: str, column: str) -> list[str]:
    return [c.text for c in driver.find_elements(
        "css selector", f"#{table_id} td[data-dash-column='{column}']")]


def test_waves_come_most_severe_first_with_readable_times_and_filter(server, browser,
                                                                    sample_lake):
    import re

    from selenium.webdriver.common.by import By
    waves = sample_lake[1]["waves"]
    reshared = waves.filter(pl.col("severity") != "none")
    browser.get(f"{server}/waves")
    _wait(browser, "#waves-table")
    _settle(browser)
    text = browser.find_element(By.TAG_NAME, "body").text
    assert f"{reshared.height} waves (" in text
    assert f"{waves.height - reshared.height} negative posts nobody reshared" in text
    rank = {"high": 0, "medium": 1, "low": 2}
    shown = _column(browser, "waves-table", "severity")
    assert shown and [rank[s] for s in shown] == sorted(rank[s] for s in shown)
    assert "none" not in shown
    for started in _column(browser, "waves-table", "started"):
        assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC", started), started
    # untick "low": only high and medium remain
    browser.find_element(By.CSS_SELECTOR, "#wv-severity input[value='low']").click()
    _settle(browser)
    left = _column(browser, "waves-table", "severity")
    assert set(left) <= {"high", "medium"}
    assert len(left) == min(15, reshared.filter(pl.col("severity") != "low").height)


def test_what_if_searches_every_account_and_puts_the_answer_in_proportion(server, browser,
                                                                          sample_lake):

    from dashboards.queries import MartReader
    lake, marts = sample_lake
    reader = MartReader(lake)
    campaign, network = marts["amplifiers"].select("campaign_id", "network").row(0)
    every = reader.candidates(network, campaign, limit=10**9)
    listed = reader.candidates(network, campaign, limit=5)
    assert listed["followers"].to_list() == every["followers"].head(5).to_list()
    small = every["account_id"][-1]  # the smallest audience: far below any top list
    browser.get(f"{server}/what-if?campaign={campaign}&network={network}")
    _wait(browser, "#wi-accounts")
    _settle(browser)
    _pick_account(browser, small)  # found by searching: far below the listed top 300
    words = _wait(browser, "#wi-baseline").text
    now = reader.reach_of(campaign, network)["total_reach"]
    assert f"It reaches {now:,} distinct people there now" in words
    assert "%" in words and "in all" in words


OVERFLOW = """
const W = document.documentElement.clientWidth, out = [];
for (const el of document.querySelectorAll('body *')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || el.id === 'js-plotly-tester' || el.closest('#js-plotly-tester')) continue;
  if (r.right <= W + 1 && r.left >= -1) continue;
  // a box that scrolls (or clips) sideways inside the viewport holds it: tables do
  let p = el.parentElement, held = false;
  for (; p; p = p.parentElement) {
    const s = getComputedStyle(p);
    if (['auto', 'scroll', 'hidden'].includes(s.overflowX)
        && p.getBoundingClientRect().right <= W + 1) { held = true; break; }
  }
  if (!held) out.push(el.tagName + '#' + el.id + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
}
return [document.documentElement.scrollWidth, W, out.slice(0, 5)];
"""


@pytest.mark.parametrize("page", list(PAGES))
def test_a_phone_needs_no_sideways_scroll(server, browser, page):
    browser.set_window_size(390, 844)
    try:
        browser.get(f"{server}/{page}")
        _wait(browser, PAGES[page])
        _settle(browser)
        scroll_width, width, wider = browser.execute_script(OVERFLOW)
        browser.save_screenshot(str(ARTIFACTS / f"phone-{page or 'compare'}.png"))
    finally:
        browser.set_window_size(1366, 768)
    assert scroll_width <= width and wider == [], wider


def test_the_campaign_page_hands_over_its_report(server, browser, sample_lake):
    from pypdf import PdfReader
    from selenium.webdriver.common.by import By
    campaign = sorted(sample_lake[1]["reach"]["campaign_id"].unique().to_list())[0]
    browser.get(f"{server}/campaign?campaign={campaign}")
    _wait(browser, "#cp-report")
    _settle(browser)
    for f in browser.downloads.glob("*"):
        f.unlink()
    browser.find_element(By.ID, "cp-report").click()
    end = time.time() + 60
    files = []
    while time.time() < end and not files:
        files = list(browser.downloads.glob(f"reach-report-{campaign}-*.pdf"))
        time.sleep(0.3)
    assert files, "no report downloaded"
    from dashboards.queries import MartReader
    name = MartReader(sample_lake[0]).campaigns().filter(
        pl.col("campaign_id") == campaign)["name"][0]
    assert name in PdfReader(files[0]).pages[0].extract_text()
