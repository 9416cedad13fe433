"""``reach collect bluesky``: page through Bluesky's public AppView for a brand's posts, who
reposted and quoted them, and their followers (README.md, "Platform data: Bluesky").

Bluesky's follower graph and reposts are public and need no key, so it is the one large
network where exact distinct reach is always possible. The collector writes each
response, as the AppView returned it (plus a ``__request`` block naming the call), one a
line, one file per series of pages, for ``reach etl`` (etl/readers/bluesky.py).

Resumable: ``_state.json`` records, per series, the next cursor and how many bytes of its
file are complete; a second run continues where the first stopped (a page half-written
by a killed run is cut away). Polite: it waits when ``ratelimit-remaining`` reaches 0 or
the server answers 429, until ``ratelimit-reset`` (or ``retry-after``).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from reach.errors import ReachError

PUBLIC_APPVIEW = "https://public.api.bsky.app"
STATE = "_state.json"
RETRIES = 3
USER_AGENT = "reach-collect/0.1 (+https://github.com/reach-analytics/reach)"


class CollectError(ReachError):
    """The AppView could not be read; what was collected so far is kept."""


@dataclass
class Limits:
    """How far to page (None: all)."""

    max_posts: int | None = None
    since: datetime | None = None
    max_followers: int | None = None
    max_feed_pages: int = 10
    depth: int = 3


@dataclass
class Progress:
    requests: int = 0
    waited: float = 0.0
    stage: str = ""
    report: Callable[[Progress], None] = field(default=lambda _p: None)


def _series_name(method: str, params: dict) -> str:
    """A file name per series of pages, e.g. getFollowers.did_plc_abc-1f2e3d4c."""
    key = "_".join(str(v) for k, v in sorted(params.items()) if k not in ("limit", "cursor"))
    safe = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in key)[:80]
    digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]
    return f"{method.rsplit('.', 1)[-1]}.{safe}-{digest}"


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class Client:
    """GET an XRPC query, honouring rate limits, retrying transient faults."""

    def __init__(self, base: str, progress: Progress, sleep=time.sleep, timeout: float = 30):
        self.base, self.progress, self.sleep, self.timeout = base.rstrip("/"), progress, sleep, \
            timeout

    def get(self, method: str, params: dict) -> dict:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None},
                                       doseq=True)
        url = f"{self.base}/xrpc/{method}?{query}"
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                       "Accept": "application/json"})
        last = ""
        for attempt in range(RETRIES + 5):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                    body = json.loads(resp.read())
                    self.progress.requests += 1
                    self._pace(resp.headers)
                    return body
            except urllib.error.HTTPError as exc:
                if exc.code == 429:
                    self._wait(exc.headers, default=60)
                    continue
                if exc.code in (400, 404):
                    raise CollectError(f"{method}({_shown(params)}): the AppView answered "
                                       f"{exc.code} ({_error_text(exc)})") from None
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError
                    ) as exc:
                last = str(getattr(exc, "reason", exc))
            if attempt + 1 >= RETRIES:
                break
            self.sleep(2 ** attempt)
        raise CollectError(f"{method}({_shown(params)}) failed {RETRIES} times ({last}); what "
                           "was collected is kept: run the same command again to continue "
                           "where it stopped")

    def _pace(self, headers) -> None:
        if headers.get("ratelimit-remaining") == "0":
            self._wait(headers, default=1)

    def _wait(self, headers, default: float) -> None:
        now = time.time()
        reset, after = headers.get("ratelimit-reset"), headers.get("retry-after")
        if reset and reset.isdigit():
            delay = max(int(reset) - now, 0) + 0.5
        elif after and after.isdigit():
            delay = float(after)
        else:
            delay = default
        delay = min(delay, 15 * 60)
        self.progress.stage = f"rate limited: waiting {delay:.0f} s"
        self.progress.report(self.progress)
        self.progress.waited += delay
        self.sleep(delay)


def _shown(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items() if k not in ("limit", "cursor"))


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read())
        return str(body.get("message") or body.get("error") or "")[:200]
    except (ValueError, OSError):
        return exc.reason


class Collector:
    """The series of pages a collection needs, each resumable."""

    def __init__(self, out: Path, client: Client, limits: Limits):
        self.out, self.client, self.limits = out, client, limits
        out.mkdir(parents=True, exist_ok=True)
        self.state_path = out / STATE
        self.state = (json.loads(self.state_path.read_text()) if self.state_path.exists()
                      else {"series": {}})

    def _save(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        os.replace(tmp, self.state_path)

    def pages(self, method: str, params: dict, key: str, *, max_pages: int | None = None,
              stop: Callable[[dict], bool] = lambda _page: False, keep: bool = True
              ) -> list[dict]:
        """Every page of one series (read back from disk where already collected); with
        ``keep=False`` the pages are only written (a large account's followers)."""
        name = _series_name(method, params)
        path = self.out / f"{name}.jsonl"
        st = self.state["series"].setdefault(name, {"bytes": 0, "cursor": None, "done": False,
                                                    "pages": 0})
        if path.exists() and path.stat().st_size > st["bytes"]:
            with open(path, "r+b") as fh:  # a page half-written by a killed run
                fh.truncate(st["bytes"])
        pages = [json.loads(line) for line in path.read_bytes().splitlines()] if (
            path.exists() and st["bytes"] and keep) else []
        while not st["done"]:
            if (max_pages is not None and st["pages"] >= max_pages) or (
                    pages and stop(pages[-1])):
                st["done"] = True
                break
            self.client.progress.stage = f"{method.rsplit('.', 1)[-1]} {_shown(params)}"
            self.client.progress.report(self.client.progress)
            page = self.client.get(method, {**params, "limit": 100, "cursor": st["cursor"]})
            page["__request"] = {"method": method, "params": params, "cursor": st["cursor"]}
            line = json.dumps(page, separators=(",", ":")).encode() + b"\n"
            with open(path, "ab") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            if keep:
                pages.append(page)
            else:
                pages = [page]
            cursor = page.get("cursor")
            items = page.get(key) or []
            st.update(bytes=st["bytes"] + len(line), pages=st["pages"] + 1, cursor=cursor,
                      done=not cursor or not items)
            self._save()
        self._save()
        return pages

    def run(self, actor: str) -> dict:
        """Collect the actor's posts and everything their reach needs; return counts."""
        lim = self.limits
        profile = self.pages("app.bsky.actor.getProfiles", {"actors": actor}, "profiles")
        found = [p for page in profile for p in page.get("profiles", [])]
        if not found:
            raise CollectError(f"no Bluesky account {actor!r} (app.bsky.actor.getProfiles "
                               "returned none); give a handle such as brand.bsky.social or a "
                               "DID")
        brand = found[0]["did"]

        def old_enough(page: dict) -> bool:
            times = [_parse_time((i.get("post") or {}).get("indexedAt"))
                     for i in page.get("feed", [])]
            times = [t for t in times if t]
            return bool(lim.since and times and min(times) < lim.since)

        feed = self.pages("app.bsky.feed.getAuthorFeed", {"actor": brand,
                                                          "filter": "posts_no_replies"},
                          "feed", stop=old_enough)
        posts = []
        for page in feed:
            for item in page.get("feed", []):
                view = item.get("post") or {}
                at = _parse_time((view.get("record") or {}).get("createdAt"))
                if item.get("reason") or (view.get("author") or {}).get("did") != brand:
                    continue
                if lim.since and at and at < lim.since:
                    continue
                posts.append((view["uri"], at))
        posts = posts[:lim.max_posts] if lim.max_posts else posts
        sharers: dict[str, datetime | None] = {}  # reposter -> earliest post they reposted
        quoters: set[str] = set()
        frontier, depth = posts, 0
        while frontier and depth < lim.depth:
            nxt = []
            for uri, at in frontier:
                for page in self.pages("app.bsky.feed.getRepostedBy", {"uri": uri},
                                       "repostedBy"):
                    for p in page.get("repostedBy", []):
                        known = [t for t in (sharers.get(p["did"]), at) if t]
                        sharers[p["did"]] = min(known) if known else None
                for page in self.pages("app.bsky.feed.getQuotes", {"uri": uri}, "posts"):
                    for view in page.get("posts", []):
                        quoters.add(view["author"]["did"])
                        nxt.append((view["uri"], _parse_time(
                            (view.get("record") or {}).get("createdAt"))))
            frontier, depth = nxt, depth + 1
        for did, earliest in sharers.items():  # each reposter's feed dates their reposts
            def before(page: dict, earliest=earliest) -> bool:
                times = [_parse_time((i.get("reason") or {}).get("indexedAt")
                                     or (i.get("post") or {}).get("indexedAt"))
                         for i in page.get("feed", [])]
                times = [t for t in times if t]
                return bool(earliest and times and min(times) < earliest)
            self.pages("app.bsky.feed.getAuthorFeed", {"actor": did}, "feed",
                       max_pages=lim.max_feed_pages, stop=before)
        people = [brand, *sorted((set(sharers) | quoters) - {brand})]
        pages_cap = None if lim.max_followers is None else max(1, -(-lim.max_followers // 100))
        for did in people:
            self.pages("app.bsky.graph.getFollowers", {"actor": did}, "followers",
                       max_pages=pages_cap, keep=False)
        for i in range(0, len(people), 25):
            self.pages("app.bsky.actor.getProfiles", {"actors": people[i:i + 25]}, "profiles")
        return {"posts": len(posts), "reposters": len(sharers), "quoters": len(quoters),
                "accounts": len(people), "requests": self.client.progress.requests}


def collect_bluesky(actor: str, out: Path, *, appview: str = PUBLIC_APPVIEW,
                    limits: Limits | None = None, report=None, sleep=time.sleep) -> dict:
    progress = Progress(report=report or (lambda _p: None))
    client = Client(appview, progress, sleep=sleep)
    return Collector(out, client, limits or Limits()).run(actor)
