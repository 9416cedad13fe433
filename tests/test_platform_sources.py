"""X API v2 (twarc2), Bluesky and social-suite exports load with the canonical guarantees."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.campaign_rules import read_rules
from etl.collect_bluesky import CollectError, collect_bluesky
from etl.lake import Lake
from etl.load import load
from etl.sources import FORMATS, detect_format, extract
from reach.errors import TableError, UsageError

from . import platform_fixtures as fx
from .appview_replay import Replay

RULES = """
[[campaign]]
id = "spring-sale"
name = "Spring sale 2026"
start = 2026-03-01
end = 2026-03-31
hashtags = ["#SPRINGSALE"]

[[campaign]]
id = "links"
urls = ["acme.com/spring"]
"""


def _tables(lake: Path) -> dict[str, pl.DataFrame]:
    lk = Lake.open(lake)
    keep = {"posts": ["network", "post_id", "account_id", "created_at", "campaign_id",
                      "impressions", "likes", "comments", "shares"],
            "shares": ["network", "share_id", "post_id", "sharer_id", "created_at",
                       "parent_id", "kind"],
            "follows": ["network", "follower_id", "followee_id"],
            "accounts": ["network", "account_id", "handle", "followers_count"]}
    return {t: lk.read(t).select(cols).sort(cols[:3]) for t, cols in keep.items()}


def _quarantine(lake: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(lake / "quarantine" / table / "*.parquet")


# -- X API v2 -----------------------------------------------------------------------
@pytest.mark.parametrize("flat", [False, True], ids=["raw-pages", "flattened"])
def test_twarc2_collection_maps_onto_the_tables(tmp_path, flat):
    src = fx.x_collection(tmp_path / "x", flat=flat)
    assert detect_format(src) == "x_api"
    report = load(extract(str(src)), tmp_path / "lake")
    t = _tables(tmp_path / "lake")
    posts = {r["post_id"]: (r["account_id"], r["impressions"], r["likes"], r["comments"],
                            r["shares"]) for r in t["posts"].iter_rows(named=True)}
    assert posts == fx.X_POSTS
    shares = {r["share_id"]: (r["post_id"], r["sharer_id"], r["parent_id"], r["kind"])
              for r in t["shares"].iter_rows(named=True)}
    assert shares == fx.X_SHARES
    assert set(t["follows"].select("follower_id", "followee_id").iter_rows()) == fx.X_FOLLOWS
    acme = t["accounts"].filter(pl.col("account_id") == "1001").row(0, named=True)
    assert (acme["network"], acme["handle"], acme["followers_count"]) == ("x", "acme", 3)
    # the retweet of a tweet nobody collected is quarantined, saying so, never dropped
    q = _quarantine(tmp_path / "lake", "shares")
    assert q["share_id"].to_list() == ["14"]
    assert "retweet of tweet 99, which is neither in the collection" in q["reason"][0]
    assert "(rule: original-missing)" in q["reason"][0]
    assert report.repairs["tweets seen more than once (overlapping pages), kept once"] == 1
    if not flat:  # flattening drops the page's errors
        assert report.repairs["API error entries counted, not loaded: Not Found Error"] == 1


def test_twarc2_raw_and_flattened_load_the_same_lake(tmp_path):
    for flat in (False, True):
        load(extract(str(fx.x_collection(tmp_path / f"x{flat}", flat=flat))),
             tmp_path / f"lake{flat}")
    a, b = _tables(tmp_path / "lakeTrue"), _tables(tmp_path / "lakeFalse")
    for name in a:
        assert a[name].equals(b[name]), name


def test_twarc2_bad_lines_are_named_by_file_line_and_rule(tmp_path):
    src = tmp_path / "x"
    good = fx.flatten(fx.PAGE1)
    no_author = {**good[4], "id": "21"}
    del no_author["author_id"]
    odd_ref = {**good[4], "id": "22", "referenced_tweets": [{"type": "liked", "id": "10"}]}
    lines = [json.dumps(d) for d in good] + [
        json.dumps({"meta": {"result_count": 3}, "__twarc": fx.PAGE1["__twarc"]}),  # no data
        json.dumps(no_author), json.dumps(odd_ref), '{"data": [{"id": "23", "te']  # truncated
    src.mkdir()
    (src / "search.jsonl").write_text("\n".join(lines) + "\n")
    report = load(extract(str(src)), tmp_path / "lake")
    warnings = "\n".join(report.warnings)
    assert "search.jsonl line 9: not valid JSON" in warnings and "(rule: json-line)" in warnings
    assert "search.jsonl line 6: the page has no `data`" in warnings
    q = _quarantine(tmp_path / "lake", "posts")
    reasons = dict(zip(q["post_id"], q["reason"], strict=True))
    assert "search.jsonl line 7" in reasons["21"] and "no `author_id`" in reasons["21"]
    assert "referenced_tweets.type is 'liked'" in reasons["22"]
    assert "(rule: tweet-reference)" in reasons["22"]
    assert report.repairs["unreadable JSON lines skipped (rule: json-line)"] == 1


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=8), order=st.booleans())
def test_twarc2_split_collection_loads_as_one(tmp_path_factory, cut, order):
    """Splitting a collection into two files loaded one after the other gives the same
    lake as one load, whichever part comes first; loading again changes nothing."""
    base = tmp_path_factory.mktemp("split")
    lines = fx.flatten(fx.PAGE1) + fx.flatten(fx.PAGE2)
    whole = fx.write_jsonl(base / "whole" / "search.jsonl", lines)
    load(extract(str(whole)), base / "one")
    parts = [lines[:cut], lines[cut:]]
    if order:
        parts.reverse()
    for i, part in enumerate(parts):
        if part:
            load(extract(str(fx.write_jsonl(base / f"p{i}" / "search.jsonl", part))),
                 base / "two")
    again = fx.write_jsonl(base / "again" / "copy.jsonl", lines)  # same rows, new file
    load(extract(str(again)), base / "two")
    one, two = _tables(base / "one"), _tables(base / "two")
    for name in one:
        assert one[name].equals(two[name]), name


# -- campaign rules -------------------------------------------------------------------
def test_campaign_rules_assign_by_hashtag_link_and_dates(tmp_path):
    rules = tmp_path / "campaigns.toml"
    rules.write_text(RULES)
    ext = extract(str(fx.x_collection(tmp_path / "x")), campaign_rule=rules)
    load(ext, tmp_path / "lake")
    posts = dict(Lake.open(tmp_path / "lake").read("posts").select("post_id", "campaign_id")
                 .iter_rows())
    # 10: hashtag in March (first rule wins over the link rule); 16: hashtag, but April;
    # 15: a reply with neither
    assert posts == {"10": "spring-sale", "15": None, "16": None}
    campaigns = Lake.open(tmp_path / "lake").read("campaigns")
    assert campaigns["campaign_id"].to_list() == ["links", "spring-sale"] or \
        sorted(campaigns["campaign_id"]) == ["links", "spring-sale"]


def test_campaign_rule_by_author_alone(tmp_path):
    rules = tmp_path / "r.toml"
    rules.write_text('[[campaign]]\nid = "acme-april"\nauthors = ["@ACME"]\n'
                     "start = 2026-04-01\n")
    ext = extract(str(fx.x_collection(tmp_path / "x")), campaign_rule=rules)
    posts = pl.concat([p.raw for p in ext.parts if p.table == "posts"])
    assert dict(posts.select("post_id", "campaign_id").iter_rows()) == {
        "10": None, "15": None, "16": "acme-april"}


@pytest.mark.parametrize("text,message", [
    ('[[campaign]]\nid = "a"\nhashtag = ["x"]\n', "unknown key `hashtag`"),
    ('[[campaign]]\nid = "a"\n', "give at least one of hashtags"),
    ('[[campaign]]\nid = "a"\nauthors = ["x"]\nstart = "March"\n', "expected a TOML date"),
    ('[[campaign]]\nid = "a"\nauthors = ["x"]\nstart = 2026-03-02\nend = 2026-03-01\n',
     "`end` is before `start`"),
    ('[[campaign]]\nid = "a"\nauthors = ["x"]\n[[campaign]]\nid = "a"\nauthors = ["y"]\n',
     "appears twice"),
    ("campaign = 3\n", "expected one or more [[campaign]] tables"),
])
def test_campaign_rule_faults_are_named(tmp_path, text, message):
    rules = tmp_path / "r.toml"
    rules.write_text(text)
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_rules(rules)


# -- Bluesky --------------------------------------------------------------------------
def _collect(out: Path, replay: Replay) -> dict:
    return collect_bluesky("acme.bsky.social", out, appview=replay.url, sleep=lambda _s: None)


def test_bluesky_collection_loads_exactly(tmp_path):
    with Replay(fx.appview_pages()) as replay:
        replay.rate_limit_once = "app.bsky.graph.getFollowers"
        waits = []
        counts = collect_bluesky("acme.bsky.social", tmp_path / "bsky", appview=replay.url,
                                 sleep=waits.append)
    assert waits and 0 < waits[0] <= 3  # waited for ratelimit-reset, then went on
    assert counts["posts"] == 2 and counts["reposters"] == 3 and counts["quoters"] == 1
    assert detect_format(tmp_path / "bsky") == "bluesky"
    load(extract(str(tmp_path / "bsky")), tmp_path / "lake")
    t = _tables(tmp_path / "lake")
    assert dict(t["posts"].select("post_id", "account_id").iter_rows()) == fx.BSKY_POSTS
    shares = {r["share_id"]: (r["post_id"], r["sharer_id"], r["parent_id"], r["kind"],
                              r["created_at"].hour)
              for r in t["shares"].iter_rows(named=True)}
    assert shares == fx.BSKY_SHARES
    assert set(t["follows"].select("follower_id", "followee_id").iter_rows()) == \
        fx.BSKY_FOLLOWS
    q = _quarantine(tmp_path / "lake", "shares")
    assert q["share_id"].to_list() == [fx.BSKY_UNDATED]
    assert "(rule: repost-time)" in q["reason"][0]
    counts = dict(t["accounts"].select("account_id", "followers_count").iter_rows())
    assert counts["did:plc:acme"] == 3 and counts["did:plc:zed"] is None


def test_bluesky_collection_cut_off_resumes_to_the_same_files(tmp_path):
    with Replay(fx.appview_pages()) as replay:
        _collect(tmp_path / "whole", replay)
        total = len(replay.requests)
    with Replay(fx.appview_pages()) as replay:
        replay.fail_from = 9
        with pytest.raises(CollectError, match="run the same command again to continue"):
            _collect(tmp_path / "cut", replay)
        first = len(replay.requests)
    # a page half-written when the run was killed is cut away on the next run
    series = sorted((tmp_path / "cut").glob("getQuotes*.jsonl"))[0]
    with open(series, "ab") as fh:
        fh.write(b'{"uri": "at://half')
    with Replay(fx.appview_pages()) as replay:
        _collect(tmp_path / "cut", replay)
        resumed = len(replay.requests)
        _collect(tmp_path / "cut", replay)  # a third run: everything is there already
        assert len(replay.requests) == resumed
    failed = 3  # the 9th request, tried three times
    assert resumed == total - (first - failed)  # continued where it stopped, no page twice
    whole = {p.name: p.read_bytes() for p in (tmp_path / "whole").glob("*.jsonl")}
    cut = {p.name: p.read_bytes() for p in (tmp_path / "cut").glob("*.jsonl")}
    assert cut == whole


def test_bluesky_pages_saved_by_another_tool_read_the_same(tmp_path):
    """No collector state, no __request: the AppView's response shapes are enough."""
    src = tmp_path / "saved"
    fx.write_jsonl(src / "getFollows-alice.jsonl", [
        {"subject": fx._view("alice"), "follows": [fx._view("acme"), fx._view("bob")]}])
    fx.write_jsonl(src / "getPosts.jsonl", [{"posts": [fx.P1, fx.Q1]}])
    assert detect_format(src) == "bluesky"
    ext = extract(str(src))
    parts = {p.table: p.raw for p in ext.parts}
    assert set(parts["follows"].select("follower_id", "followee_id").iter_rows()) == {
        ("did:plc:alice", "did:plc:acme"), ("did:plc:alice", "did:plc:bob")}
    assert parts["posts"]["post_id"].to_list() == [fx.P1["uri"]]
    assert parts["shares"].select("share_id", "post_id", "parent_id", "kind").row(0) == (
        fx.Q1["uri"], fx.P1["uri"], fx.P1["uri"], "quote")
    tags = ext.entities.filter(pl.col("kind") == "hashtag")["value"].to_list()
    assert tags == ["springsale"]


def test_bluesky_unknown_actor_is_a_clear_error(tmp_path):
    pages = fx.appview_pages()
    pages[("app.bsky.actor.getProfiles", (("actors", ("nobody.bsky.social",)),), None)] = {
        "profiles": []}
    with Replay(pages) as replay, pytest.raises(CollectError, match="no Bluesky account"):
        collect_bluesky("nobody.bsky.social", tmp_path / "b", appview=replay.url)


# -- social-suite exports --------------------------------------------------------------
def _sprout(path: Path) -> Path:
    path.write_text(
        '\ufeff"Date","Post ID","Network","Post Type","Content Type","Profile","Link","Post",'
        '"Impressions","Reach","Potential Reach","Engagements","Reactions","Comments",'
        '"Shares","Post Link Clicks","Engagement Rate (per Impression)"\n'
        '"03/02/2026 10:00 am","fb_1","Facebook","Post","Photo","Acme","https://fb/1","Hi",'
        '"1,234","987","5,000","40","30","6","4","12","3.2%"\n'
        '"03/02/2026 02:30 pm","tw_2","X","Tweet","Text","acme","https://x/2","Yo",'
        '"12,001","","80,000","9","5","2","2","0","0.1%"\n'
        '"03/03/2026 09:15 am","ig_3","Instagram","Post","Photo","acme.ig","https://ig/3","",'
        '"n/a","10","1,000","1","1","0","0","0","0%"\n')
    return path


def _meta(path: Path) -> Path:
    path.write_text(
        "Post ID,Page ID,Page name,Title,Description,Publish time,Post type,Permalink,"
        "Reach,Impressions,Reactions,Comments,Shares,Total clicks,Link clicks\n"
        '1234_1,1234,Acme,,Spring!,03/02/2026 10:00,Photos,https://fb/1,"2,500","3,100",'
        "40,5,7,60,12\n"
        "1234_2,1234,Acme,,Soon,03/40/2026 10:00,Links,https://fb/2,100,150,1,0,0,3,2\n")
    return path


def _linkedin(path: Path) -> Path:
    import xlsxwriter
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("All posts")
    sheet.write_row(0, 0, ["All posts (organic and sponsored), 03/01/2026 - 03/31/2026"])
    sheet.write_row(1, 0, ["Post title", "Post link", "Post type", "Campaign name",
                           "Posted by", "Created date", "Audience", "Impressions",
                           "Views (excluding off-site video views)", "Clicks",
                           "Click through rate (CTR)", "Likes", "Comments", "Reposts",
                           "Follows", "Engagement rate", "Content Type"])
    sheet.write_row(2, 0, ["Spring", "https://www.linkedin.com/feed/update/urn:li:activity:1",
                           "Organic", "", "A. Admin", "03/02/2026", "All followers", 1500,
                           "", 30, 0.02, 20, 3, 2, 1, 0.036, "Image"])
    sheet.write_row(3, 0, ["Spring 2", "https://www.linkedin.com/feed/update/urn:li:activity:2",
                           "Organic", "", "A. Admin", "03/05/2026", "All followers", 900,
                           "", 10, 0.011, 8, 0, 1, 0, 0.021, "Text"])
    book.close()
    return path


@pytest.mark.parametrize("make,name,mapping", [
    (_sprout, "post_performance.csv", "sprout_social.toml"),
    (_meta, "page_posts.csv", "meta_business_suite.toml"),
    (_linkedin, "page_content.xlsx", "linkedin_page.toml"),
])
def test_suite_exports_are_recognised_and_loaded(tmp_path, make, name, mapping):
    src = make(tmp_path / name)
    assert detect_format(src) == "suite"
    report = load(extract(str(src)), tmp_path / "lake")
    assert any(mapping in n for n in report.notes)
    posts = Lake.open(tmp_path / "lake").read("posts").sort("created_at")
    if mapping == "sprout_social.toml":
        assert posts["network"].to_list() == ["facebook", "x"]
        assert posts["impressions"].to_list() == [1234, 12001]  # "1,234" read as 1234
        assert posts["reach"].to_list() == [987, None]
        assert posts["created_at"][1].hour == 14  # "02:30 pm"
        q = _quarantine(tmp_path / "lake", "posts")  # "n/a" impressions: a type error
        assert "post_performance.csv row 4" in q["reason"][0]
        assert "`impressions` is 'n/a'" in q["reason"][0]
    elif mapping == "meta_business_suite.toml":
        assert posts.select("network", "post_id", "account_id", "reach", "impressions",
                            "clicks").row(0) == ("facebook", "1234_1", "Acme", 2500, 3100, 60)
        q = _quarantine(tmp_path / "lake", "posts")  # 03/40/2026 is no date
        assert "page_posts.csv row 3" in q["reason"][0] and "03/40/2026" in q["reason"][0]
    else:
        assert posts.height == 2 and posts["network"].unique().to_list() == ["linkedin"]
        assert posts["shares"].to_list() == [2, 1] and posts["impressions"].to_list() == [1500,
                                                                                        900]
        assert posts["reach"].null_count() == 2


def test_suite_mapping_naming_a_missing_column_stops_the_load(tmp_path):
    src = _meta(tmp_path / "posts_export.csv")
    load(extract(str(src)), tmp_path / "lake")
    before = Lake.open(tmp_path / "lake").manifest()
    mapping = tmp_path / "mine.toml"
    mapping.write_text('[source]\ntable = "posts"\n[columns]\npost_id = "Post ID"\n'
                       'account_id = "Page"\ncreated_at = "Publish time"\n'
                       '[values]\nnetwork = "facebook"\n')
    with pytest.raises(TableError, match=r"names column `Page` \(for account_id\), which the "
                                         "export does not have"):
        extract(str(src), mapping=str(mapping))
    cli = subprocess.run([sys.executable, "-m", "reach_cli.main", "etl", str(src), "--mapping",
                          str(mapping), "--lake", str(tmp_path / "lake")],
                         capture_output=True, text=True)
    assert cli.returncode == 1 and "`Page`" in cli.stderr and "Traceback" not in cli.stderr
    assert "Fix the mapping's [columns]" in cli.stderr  # brackets are text, not markup
    assert Lake.open(tmp_path / "lake").manifest() == before


def test_suite_percent_and_decimal_comma(tmp_path):
    src = tmp_path / "e.csv"
    src.write_text("id;x\n".replace(";", ",") + 'p1,"12,5%"\n')
    mapping = tmp_path / "m.toml"
    mapping.write_text('[source]\ntable = "posts"\ntimestamp_format = "%d.%m.%Y"\n'
                       'thousands = "."\ndecimal = ","\n[columns]\npost_id = "id"\n'
                       'sentiment = "x"\n[values]\nnetwork = "x"\naccount_id = "a"\n'
                       'created_at = "2026-03-01"\n')
    ext = extract(str(src), mapping=str(mapping))
    assert ext.parts[-1].raw["sentiment"].to_list() == ["0.125"]


def test_a_lone_csv_without_a_known_header_asks_for_a_mapping(tmp_path):
    src = tmp_path / "export.csv"
    src.write_text("a,b\n1,2\n")
    with pytest.raises(UsageError, match="Give one with --mapping FILE"):
        extract(str(src))


def test_etl_help_lists_every_format():
    cli = subprocess.run([sys.executable, "-m", "reach_cli.main", "etl", "--help"],
                         capture_output=True, text=True, env={"COLUMNS": "200", **__import__(
                             "os").environ})
    text = " ".join(cli.stdout.split())
    for name in FORMATS:
        assert name in text
    assert "--campaign-rule" in text and "--mapping" in text
