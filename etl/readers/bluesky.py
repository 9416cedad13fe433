"""Bluesky (AT Protocol) AppView responses saved as JSON lines (README.md, "Platform data:
Bluesky").

``reach collect bluesky`` writes them (etl/collect/bluesky.py); any other tool that saves
the AppView's responses one a line is read the same way. A document is recognised by its
keys (the lexicons' output shapes):

* ``feed`` (app.bsky.feed.getAuthorFeed): each item's ``post`` is a post or a quote; an
  item with ``reason`` of type reasonRepost is a repost by ``reason.by`` at
  ``reason.indexedAt`` (when the AppView saw the repost);
* ``posts`` + ``uri`` (app.bsky.feed.getQuotes), ``posts`` (app.bsky.feed.getPosts):
  post views;
* ``repostedBy`` + ``uri`` (app.bsky.feed.getRepostedBy): who reposted a post. The API
  gives no time for these; the time comes from a repost seen in a feed (the collector
  reads each reposter's feed for it). A repost whose time no document gives is
  quarantined (rule ``repost-time``), never dated by guess;
* ``followers`` / ``follows`` + ``subject`` (app.bsky.graph.getFollowers / getFollows):
  follow edges;
* ``profiles`` (app.bsky.actor.getProfiles): accounts with ``followersCount``.

Mapping (network ``bluesky``): ids are AT URIs (posts) and DIDs (accounts). A post whose
record embeds another post (app.bsky.embed.record, recordWithMedia) is a quote:
a share (``kind = quote``) with ``parent_id`` the quoted post; the quoted post's embedded
view is a post too. Likes, replies → comments, reposts + quotes → shares.
"""

from __future__ import annotations

from pathlib import Path

from reach.errors import UsageError

from .base import Extract
from .jsonlines import Documents, first_document, json_files
from .social import Collection

REPOST = "app.bsky.feed.defs#reasonRepost"
POST_COLLECTION = "/app.bsky.feed.post/"
KEYS = ("feed", "repostedBy", "followers", "follows", "profiles", "posts")


def looks_like_bluesky(path: Path) -> bool:
    doc = first_document(path)
    return doc is not None and any(k in doc for k in KEYS) and "__twarc" not in doc


def _profile(c: Collection, p: dict | None) -> str | None:
    if not isinstance(p, dict):
        return None
    return c.user(p.get("did"), p.get("handle"), p.get("followersCount"))


def _quoted(record: dict) -> str | None:
    """The URI of the post a record embeds (a quote), or None."""
    embed = record.get("embed") or {}
    inner = embed.get("record") or {}
    if "record" in inner and isinstance(inner["record"], dict):  # recordWithMedia
        inner = inner["record"]
    uri = inner.get("uri")
    return uri if isinstance(uri, str) and POST_COLLECTION in uri else None


def _embedded_view(view: dict) -> dict | None:
    """The quoted post's view inside a post view's ``embed`` (record#viewRecord)."""
    embed = view.get("embed") or {}
    inner = embed.get("record") or {}
    if isinstance(inner.get("record"), dict):  # recordWithMedia#view
        inner = inner["record"]
    return inner if "value" in inner and "author" in inner else None


def _entities(record: dict, c: Collection) -> list[tuple[str, str]]:
    found = []
    for facet in record.get("facets") or ():
        for f in facet.get("features") or ():
            t = f.get("$type", "")
            if t.endswith("#tag"):
                found.append(("hashtag", str(f.get("tag", ""))))
            elif t.endswith("#mention"):
                did = str(f.get("did", ""))
                found.append(("mention", (c.users.get(did) or (None,))[0] or did))
            elif t.endswith("#link"):
                found.append(("url", str(f.get("uri", ""))))
    return found


def _post(c: Collection, view: dict, file: str, line: int, included: bool) -> None:
    uri = view.get("uri")
    if not isinstance(uri, str):
        c.problems["post views without a `uri` skipped (rule: post-uri)"] += 1
        c.warn(f"{file} line {line}: a post view without a `uri`; skipped (rule: post-uri)")
        return
    author = _profile(c, view.get("author"))
    record = view.get("record") or view.get("value") or {}
    quoted = _quoted(record)
    inner = _embedded_view(view)
    if inner is not None:
        _post(c, inner, file, line, True)
    shares = None
    if view.get("repostCount") is not None or view.get("quoteCount") is not None:
        shares = (view.get("repostCount") or 0) + (view.get("quoteCount") or 0)
    reason = None if author else "the post view has no `author.did` (rule: required)"
    c.item((uri, author, record.get("createdAt"), "quote" if quoted else None, quoted, reason,
            view.get("likeCount"), view.get("replyCount"), shares, None, file, line, included),
           _entities(record, c))


def _repost(reposts: dict, by: str | None, uri: str, at: str | None,
            repost_uri: str | None, file: str, line: int) -> None:
    """Remember one repost sighting; a dated one (a feed's) completes an undated one
    (getRepostedBy's), and the repost record's own URI is its id where a feed gives it."""
    if by is None:
        return
    old = reposts.get((by, uri))
    if old is None:
        reposts[(by, uri)] = [repost_uri, at, file, line]
        return
    if at is not None and old[1] is None:
        old[1:] = [at, file, line]
    old[0] = old[0] or repost_uri


def _add_reposts(c: Collection, reposts: dict) -> None:
    for (by, uri), (sid, at, file, line) in reposts.items():
        reason = None if at else (
            "getRepostedBy names this reposter but gives no time, and no feed in the "
            "collection shows the repost; collect the reposter's feed (reach collect bluesky "
            "does) (rule: repost-time)")
        c.item((sid or f"{uri}#repost-by-{by}", by, at, "repost", uri, reason, None, None,
                None, None, file, line, False))


def _document(c: Collection, reposts: dict, doc: dict, file: str, line: int) -> bool:
    """Read one AppView response; False if its shape is none of the known ones."""
    for p in doc.get("profiles") or ():
        _profile(c, p)
    if "subject" in doc and ("followers" in doc or "follows" in doc):
        subject = _profile(c, doc["subject"])
        for p in doc.get("followers") or ():
            if (who := _profile(c, p)) and subject:
                c.follow(who, subject, file, line)
        for p in doc.get("follows") or ():
            if (whom := _profile(c, p)) and subject:
                c.follow(subject, whom, file, line)
        return True
    for item in doc.get("feed") or ():
        view = item.get("post") or {}
        _post(c, view, file, line, False)
        reason = item.get("reason") or {}
        if reason.get("$type") == REPOST and isinstance(view.get("uri"), str):
            _repost(reposts, _profile(c, reason.get("by")), view["uri"], reason.get("indexedAt"),
                    reason.get("uri"), file, line)
    if "feed" in doc:
        return True
    for view in doc.get("posts") or ():
        _post(c, view, file, line, False)
    if isinstance(doc.get("repostedBy"), list) and isinstance(doc.get("uri"), str):
        for p in doc["repostedBy"]:
            _repost(reposts, _profile(c, p), doc["uri"], None, None, file, line)
        return True
    return "posts" in doc or "profiles" in doc


def read_bluesky(path: Path, *, network: str | None = None) -> Extract:
    files = json_files(path)
    if not files:
        raise UsageError(f"{path}: no JSON-lines files (*.jsonl, *.json, .gz) to read")
    root = path if path.is_dir() else path.parent
    docs = Documents(files, root)
    c, reposts = Collection("post", "repost"), {}
    for file, line, doc in docs:
        if not _document(c, reposts, doc, file, line):
            c.problems["lines that are no AppView response skipped (rule: json-shape)"] += 1
            c.warn(f"{file} line {line}: not an AppView response this reader knows (keys: "
                   f"{', '.join(list(doc)[:5])}); skipped (rule: json-shape)")
    _add_reposts(c, reposts)
    ext = Extract(fmt="bluesky", source=str(path), root=root, files=files,
                  warnings=docs.warnings,
                  repairs={"unreadable JSON lines skipped (rule: json-line)": docs.skipped})
    c.to_parts(ext, network or "bluesky")
    return ext
