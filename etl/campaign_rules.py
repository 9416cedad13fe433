"""``--campaign-rule FILE``: assign collected posts to campaigns by hashtag, mention, link or
author and dates (README.md, "Campaign rules").

A brand's campaign is usually a hashtag or a link, so a search collection (twarc2, Bluesky)
becomes campaigns by a few lines of TOML::

    [[campaign]]
    id = "spring-sale"
    name = "Spring sale 2026"
    start = 2026-03-01            # optional, inclusive (UTC)
    end = 2026-03-31              # optional, inclusive (the whole day)
    hashtags = ["springsale"]     # any of these (no #, any case)
    mentions = ["acme"]           # or a mention of any of these handles (no @)
    urls = ["acme.com/spring"]    # or a link containing any of these
    authors = ["acme"]            # and, if given, by one of these (handle or account id)

A post matches a campaign when it lies within the dates, carries one of its hashtags,
mentions or links (when any are listed), and is by one of its authors (when listed).
The first matching campaign in the file wins; a post that already names a campaign keeps
it; a post that matches none is organic (empty ``campaign_id``).
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl

from reach.errors import UsageError
from reach.schema import TIMESTAMP

from .parse import coerce
from .readers.base import Extract, TablePart

MATCHERS = ("hashtags", "mentions", "urls")
KEYS = {"id", "name", "objective", "start", "end", "authors", *MATCHERS}


def _when(value, where: str, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        day = datetime.combine(value, time(), tzinfo=UTC)
        return day + timedelta(days=1, microseconds=-1) if end else day
    raise UsageError(f"{where}: expected a TOML date such as 2026-03-01 (no quotes), "
                     f"got {value!r}")


def read_rules(path: Path) -> list[dict]:
    """The campaigns of a rule file, checked; a UsageError names the file and the fault."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--campaign-rule {path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a readable TOML file ({exc})") from None
    extra = set(doc) - {"campaign"}
    if extra or not isinstance(doc.get("campaign"), list) or not doc["campaign"]:
        raise UsageError(f"{path}: expected one or more [[campaign]] tables and nothing else"
                         + (f" (found {', '.join(sorted(extra))})" if extra else ""))
    rules, ids = [], set()
    for i, c in enumerate(doc["campaign"], start=1):
        where = f"{path}, campaign {i}"
        unknown = set(c) - KEYS
        if unknown:
            raise UsageError(f"{where}: unknown key `{sorted(unknown)[0]}`; the keys are "
                             f"{', '.join(sorted(KEYS))}")
        if not str(c.get("id", "")).strip():
            raise UsageError(f"{where}: `id` is required")
        cid = str(c["id"]).strip()
        if cid in ids:
            raise UsageError(f"{where}: campaign id `{cid}` appears twice")
        ids.add(cid)
        lists = {}
        for key in (*MATCHERS, "authors"):
            v = c.get(key, [])
            if isinstance(v, str):
                v = [v]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise UsageError(f"{where}: `{key}` must be a list of strings")
            lists[key] = [x.strip().lstrip("#@").lower() if key != "urls" else x.strip().lower()
                          for x in v if x.strip()]
        if not any(lists.values()):
            raise UsageError(f"{where} (`{cid}`): give at least one of hashtags, mentions, "
                             "urls or authors, or every post would match")
        start, end = _when(c.get("start"), f"{where}, start", False), _when(
            c.get("end"), f"{where}, end", True)
        if start and end and end < start:
            raise UsageError(f"{where} (`{cid}`): `end` is before `start`")
        rules.append({"id": cid, "name": str(c.get("name") or cid), "objective":
                      c.get("objective"), "start": start, "end": end, **lists})
    return rules


def _matches(rule: dict, posts: pl.DataFrame, entities: pl.DataFrame) -> pl.Series:
    t = posts["__at"]
    ok = pl.Series([True] * posts.height)
    if rule["start"]:
        ok = ok & (t >= rule["start"]).fill_null(False)
    if rule["end"]:
        ok = ok & (t <= rule["end"]).fill_null(False)
    if rule["authors"]:
        ok = ok & (posts["account_id"].str.to_lowercase().is_in(rule["authors"])
                   | posts["__handle"].str.to_lowercase().is_in(rule["authors"])).fill_null(False)
    if any(rule[k] for k in MATCHERS):
        hit = entities.filter(
            ((pl.col("kind") == "hashtag") & pl.col("value").str.to_lowercase().is_in(
                rule["hashtags"]))
            | ((pl.col("kind") == "mention") & pl.col("value").str.to_lowercase().is_in(
                rule["mentions"]))
            | ((pl.col("kind") == "url") & pl.any_horizontal(
                [pl.col("value").str.to_lowercase().str.contains(u, literal=True)
                 for u in rule["urls"]] or [pl.lit(False)])))["post_id"].unique()
        ok = ok & posts["post_id"].is_in(hit.implode())
    return ok


def apply_campaign_rules(ext: Extract, path: Path) -> None:
    """Fill ``campaign_id`` of the extract's posts from the rule file, and add its campaigns."""
    rules = read_rules(path)
    handles = pl.concat([p.raw.select("account_id", pl.col("handle").cast(pl.String))
                         for p in ext.parts if p.table == "accounts" and "handle" in p.raw.columns]
                        or [pl.DataFrame(schema={"account_id": pl.String, "handle": pl.String})]
                        ).unique("account_id")
    entities = ext.entities if ext.entities is not None else pl.DataFrame(
        schema={"post_id": pl.String, "kind": pl.String, "value": pl.String})
    counts = {r["id"]: 0 for r in rules}
    organic = 0
    for part in (p for p in ext.parts if p.table == "posts"):
        raw = part.raw
        if "campaign_id" not in raw.columns:
            raw = raw.with_columns(pl.lit(None, pl.String).alias("campaign_id"))
        at = coerce(raw["created_at"].cast(pl.String) if raw["created_at"].dtype == pl.String
                    else raw["created_at"], TIMESTAMP).alias("__at")
        frame = raw.select("post_id", pl.col("account_id").cast(pl.String)).with_columns(at).join(
            handles.rename({"handle": "__handle"}), on="account_id", how="left",
            maintain_order="left")
        assigned = raw["campaign_id"].cast(pl.String)
        for r in rules:
            hit = _matches(r, frame, entities) & assigned.is_null()
            counts[r["id"]] += int(hit.sum())
            assigned = pl.select(pl.when(hit).then(pl.lit(r["id"])).otherwise(assigned)
                                 ).to_series()
        organic += int(assigned.is_null().sum())
        part.raw = raw.with_columns(assigned.alias("campaign_id"))
    campaigns = pl.DataFrame([{"campaign_id": r["id"], "name": r["name"],
                               "start_at": r["start"], "end_at": r["end"],
                               "objective": r["objective"]} for r in rules],
                             schema={"campaign_id": pl.String, "name": pl.String,
                                     "start_at": TIMESTAMP, "end_at": TIMESTAMP,
                                     "objective": pl.String})
    ext.parts.insert(0, TablePart("campaigns", campaigns, path.name,
                                  pl.int_range(1, campaigns.height + 1, eager=True), "campaign"))
    ext.files.append(path)
    shown = ", ".join(f"{cid} {n:,}" for cid, n in counts.items())
    ext.notes.append(f"campaign rules ({path.name}): posts per campaign: {shown}; "
                     f"{organic:,} matched none (organic)")
