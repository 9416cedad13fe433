"""X API v2 collections as twarc2 saves them (README.md, "Platform data: X API v2").

twarc2 writes one JSON document per line, in one of two shapes:

* raw API pages: ``data`` (tweets, or users for ``twarc2 followers``/``following``),
  ``includes.users``, ``includes.tweets``, ``meta``, ``errors`` and ``__twarc`` (the
  request URL and when it was made);
* flattened (``twarc2 flatten``, ``--flatten``): one tweet (or user) a line, with its
  ``author`` and its ``referenced_tweets`` expanded inline.

How it maps (network ``x`` unless ``--network``):

* a tweet that is neither a retweet nor a quote (an original or a reply) is a post: likes,
  replies → comments, retweets + quotes → shares, impressions where
  ``public_metrics.impression_count`` exists;
* a retweet is a share (``kind = repost``) of the tweet it names. X records a retweet of a
  retweet as a retweet of the original, so through whom it came is unknown: ``parent_id``
  is empty (reconstructed from the follower graph), except that a retweet of a quote
  names the quote;
* a quote is a share (``kind = quote``) whose ``parent_id`` is the quoted tweet;
* a share's ``post_id`` is the original at the end of its chain of quotes; a chain that
  ends at a tweet absent from the collection and its includes is quarantined (rule
  ``original-missing``);
* users (``includes.users``, ``author``, user pages) are accounts with handle and
  ``followers_count``; a followers page's users follow the user named in its request URL
  (``/2/users/<id>/followers``), a following page's users are followed by that user;
* ``errors`` entries (deleted, suspended, withheld tweets) are counted, not loaded; a tweet
  seen on several pages is one row (the first seen).

Hashtags, mentions and links are kept for ``--campaign-rule`` (etl/campaign_rules.py).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from reach.errors import UsageError

from .base import Extract
from .jsonlines import Documents, first_document, json_files
from .social import Collection

USER_URL = re.compile(r"/2/users/([^/?]+)/(followers|following)\b")
REF_TYPES = ("retweeted", "quoted", "replied_to")


def looks_like_twarc(path: Path) -> bool:
    doc = first_document(path)
    if doc is None:
        return False
    if "__twarc" in doc:
        return True
    # a raw page or a flattened tweet saved by another tool in the API's shape
    if isinstance(doc.get("data"), list | dict) and ("meta" in doc or "includes" in doc):
        return True
    return "author_id" in doc and "text" in doc and "id" in doc


def _str(v) -> str | None:
    return None if v is None else str(v)


def _tweet(c: Collection, t: dict, file: str, line: int, included: bool) -> None:
    tid = t.get("id")
    if tid is None:
        c.problems["tweets without an `id` skipped (rule: tweet-id)"] += 1
        c.warn(f"{file} line {line}: a tweet without an `id`; skipped (rule: tweet-id)")
        return
    tid = str(tid)
    if c.known(tid, included):  # a page's includes repeat the same originals
        return
    if isinstance(t.get("author"), dict):
        _user(c, t["author"])
    refs = [r for r in t.get("referenced_tweets") or () if isinstance(r, dict)]
    for r in refs:  # a flattened tweet carries its referenced tweets inline
        if len(r) > 2:
            _tweet(c, r, file, line, True)
    types = {r.get("type"): r for r in refs}
    kind, ref, reason = None, None, None
    unknown = [k for k in types if k not in REF_TYPES]
    if t.get("author_id") is None:
        reason = "the tweet has no `author_id` (rule: required)"
    if unknown:
        reason = (f"referenced_tweets.type is '{str(unknown[0])[:30]}'; expected one of "
                  f"{', '.join(REF_TYPES)} (rule: tweet-reference)")
    for rtype, k in (("retweeted", "repost"), ("quoted", "quote")):
        if rtype in types:
            kind, ref = k, _str(types[rtype].get("id"))
            break
    m = t.get("public_metrics") or {}
    shares = None
    if m.get("retweet_count") is not None or m.get("quote_count") is not None:
        shares = (m.get("retweet_count") or 0) + (m.get("quote_count") or 0)
    ent = t.get("entities") or {}
    found = ([("hashtag", str(h.get("tag", ""))) for h in ent.get("hashtags") or ()]
             + [("mention", str(h.get("username", ""))) for h in ent.get("mentions") or ()]
             + [("url", str(h.get("expanded_url") or h.get("url", "")))
                for h in ent.get("urls") or ()])
    c.item((tid, _str(t.get("author_id")), t.get("created_at"), kind, ref, reason,
            m.get("like_count"), m.get("reply_count"), shares, m.get("impression_count"),
            file, line, included), found)


def _user(c: Collection, u: dict) -> str | None:
    return c.user(u.get("id"), u.get("username"),
                  (u.get("public_metrics") or {}).get("followers_count"))


def _page(c: Collection, doc: dict, file: str, line: int, errors: Counter) -> None:
    for e in doc.get("errors") or ():
        errors[str(e.get("title") or e.get("type") or "error")] += 1
    data = doc.get("data")
    if data is None:
        if not doc.get("errors") and (doc.get("meta") or {}).get("result_count", 1):
            c.problems["pages without `data` skipped (rule: page-data)"] += 1
            c.warn(f"{file} line {line}: the page has no `data` (and no `errors`); "
                   "skipped (rule: page-data)")
        return
    items = [x for x in (data if isinstance(data, list) else [data]) if isinstance(x, dict)]
    includes = doc.get("includes") or {}
    for u in includes.get("users") or ():
        _user(c, u)
    if items and "text" not in items[0] and "username" in items[0]:
        _user_page(c, items, _url(doc), file, line)
        return
    for t in includes.get("tweets") or ():
        _tweet(c, t, file, line, True)
    for t in items:
        _tweet(c, t, file, line, False)


def _url(doc: dict) -> str:
    return str((doc.get("__twarc") or {}).get("url", ""))


def _user_page(c: Collection, users: list[dict], url: str, file: str, line: int) -> None:
    """Users of a followers (following) page follow (are followed by) the URL's user."""
    match = USER_URL.search(url)
    if match is None:
        c.problems["user pages without a followers/following URL: accounts only "
                   "(rule: follow-url)"] += 1
    for u in users:
        uid = _user(c, u)
        if match and uid:
            them, rel = match.groups()
            c.follow(*((uid, them) if rel == "followers" else (them, uid)), file, line)


def read_twarc(path: Path, *, network: str | None = None) -> Extract:
    files = json_files(path)
    if not files:
        raise UsageError(f"{path}: no JSON-lines files (*.jsonl, *.json, .gz) to read")
    root = path if path.is_dir() else path.parent
    net = network or "x"
    docs = Documents(files, root)
    c, errors = Collection("tweet", "retweet"), Counter()
    for file, line, doc in docs:
        if "data" in doc or "errors" in doc or "meta" in doc:
            _page(c, doc, file, line, errors)
        elif "text" in doc:
            _tweet(c, doc, file, line, False)
        elif "username" in doc:  # a flattened followers/following line
            _user_page(c, [doc], _url(doc), file, line)
        else:
            c.problems["lines that are neither a page, a tweet nor a user skipped (rule: "
                       "json-shape)"] += 1
            c.warn(f"{file} line {line}: neither an API page, a tweet nor a user; skipped "
                   "(rule: json-shape)")
    ext = Extract(fmt="x_api", source=str(path), root=root, files=files,
                  warnings=docs.warnings,
                  repairs={"unreadable JSON lines skipped (rule: json-line)": docs.skipped})
    for title, n in sorted(errors.items()):
        ext.repairs[f"API error entries counted, not loaded: {title}"] = n
    c.to_parts(ext, net)
    return ext
