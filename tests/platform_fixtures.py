"""Platform collections written from the public API documentation (made-up ids and text).

X API v2 pages follow the documented response shape (``data``, ``includes``, ``meta``,
``errors``) with twarc2's ``__twarc`` block; ``flatten`` does what ``twarc2 flatten``
documents (one tweet a line, ``author`` and ``referenced_tweets`` expanded). Bluesky
pages follow the AppView lexicons (app.bsky.feed.getAuthorFeed, getRepostedBy,
getQuotes, app.bsky.graph.getFollowers, app.bsky.actor.getProfiles).

The X story: @acme (1001) posts #SpringSale (10); alice (2001) retweets it (11); bob
(2002) quotes it (12); carol (2003) retweets bob's quote (13); dave (2004) retweets a
tweet nobody collected (14); alice replies (15); acme posts again after the campaign
(16); one tweet was deleted (an error entry); page 2 repeats tweet 13.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

TWARC = {"version": "2.14.0", "retrieved_at": "2026-04-20T09:00:00+00:00"}
SEARCH = "https://api.twitter.com/2/tweets/search/recent?query=%23springsale&max_results=100"


def _user(uid, name, followers):
    return {"id": uid, "username": name, "name": name.title(),
            "public_metrics": {"followers_count": followers, "following_count": 10,
                               "tweet_count": 50, "listed_count": 0}}


USERS = {u["id"]: u for u in (
    _user("1001", "acme", 3), _user("2001", "alice", 2), _user("2002", "bob", 1),
    _user("2003", "carol", 5), _user("2004", "dave", 0))}


def _tweet(tid, author, at, text, refs=(), metrics=(0, 0, 0, 0), impressions=None,
           hashtags=(), urls=()):
    rt, reply, like, quote = metrics
    pm = {"retweet_count": rt, "reply_count": reply, "like_count": like, "quote_count": quote}
    if impressions is not None:
        pm["impression_count"] = impressions
    t = {"id": tid, "text": text, "author_id": author, "created_at": at,
         "conversation_id": tid, "lang": "en", "public_metrics": pm}
    ent = {}
    if hashtags:
        ent["hashtags"] = [{"start": 0, "end": len(h) + 1, "tag": h} for h in hashtags]
    if urls:
        ent["urls"] = [{"start": 0, "end": 23, "url": "https://t.co/abc", "expanded_url": u,
                        "display_url": u.split("//")[-1]} for u in urls]
    if ent:
        t["entities"] = ent
    if refs:
        t["referenced_tweets"] = [{"type": k, "id": i} for k, i in refs]
    return t


T10 = _tweet("10", "1001", "2026-03-02T10:00:00.000Z",
             "Spring is here #SpringSale https://t.co/abc", metrics=(2, 1, 5, 1),
             impressions=100, hashtags=["SpringSale"], urls=["https://acme.com/spring?utm=x"])
T12 = _tweet("12", "2002", "2026-03-02T12:00:00.000Z", "love it https://t.co/q",
             refs=[("quoted", "10")], metrics=(1, 0, 2, 0))
PAGE1 = {
    "data": [
        _tweet("11", "2001", "2026-03-02T11:00:00.000Z", "RT @acme: Spring is here",
               refs=[("retweeted", "10")]),
        T12,
        _tweet("13", "2003", "2026-03-02T13:00:00.000Z", "RT @bob: love it",
               refs=[("retweeted", "12")]),
        _tweet("14", "2004", "2026-03-02T14:00:00.000Z", "RT @gone: hello",
               refs=[("retweeted", "99")]),
        T10,
    ],
    "includes": {"users": list(USERS.values()), "tweets": [T10, T12]},
    "errors": [{"resource_id": "55", "parameter": "referenced_tweets.id",
                "resource_type": "tweet", "title": "Not Found Error",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
                "detail": "Could not find tweet with referenced_tweets.id: [55]."}],
    "meta": {"newest_id": "14", "oldest_id": "10", "result_count": 5, "next_token": "b26v89"},
    "__twarc": {**TWARC, "url": SEARCH},
}
PAGE2 = {
    "data": [
        PAGE1["data"][2],  # tweet 13 again: the pages overlap
        _tweet("15", "2001", "2026-03-03T09:00:00.000Z", "@acme when does it end?",
               refs=[("replied_to", "10")]),
        _tweet("16", "1001", "2026-04-10T09:00:00.000Z", "Last call #SpringSale",
               hashtags=["SpringSale"]),
    ],
    "includes": {"users": [USERS["2001"], USERS["1001"], USERS["2003"]],
                 "tweets": [T10, T12]},
    "meta": {"newest_id": "16", "oldest_id": "13", "result_count": 3},
    "__twarc": {**TWARC, "url": SEARCH + "&next_token=b26v89"},
}
FOLLOWERS = {  # twarc2 followers acme
    "data": [USERS["2001"], USERS["2002"], _user("3001", "zed", 0)],
    "meta": {"result_count": 3},
    "__twarc": {**TWARC, "url": "https://api.twitter.com/2/users/1001/followers?"
                                "max_results=1000&user.fields=public_metrics"},
}
FOLLOWING = {  # twarc2 following carol
    "data": [USERS["1001"], USERS["2002"]],
    "meta": {"result_count": 2},
    "__twarc": {**TWARC, "url": "https://api.twitter.com/2/users/2003/following?"
                                "max_results=1000"},
}

#: what the X collection must load as (network x)
X_POSTS = {"10": ("1001", 100, 5, 1, 3), "15": ("2001", None, 0, 0, 0),
           "16": ("1001", None, 0, 0, 0)}
X_SHARES = {"11": ("10", "2001", None, "repost"), "12": ("10", "2002", "10", "quote"),
            "13": ("10", "2003", "12", "repost")}
X_FOLLOWS = {("2001", "1001"), ("2002", "1001"), ("3001", "1001"), ("2003", "1001"),
             ("2003", "2002")}


def flatten(page: dict) -> list[dict]:
    """One tweet a line, author and referenced tweets expanded, as twarc2 flatten writes."""
    users = {u["id"]: u for u in page.get("includes", {}).get("users", [])}
    tweets = {t["id"]: t for t in page.get("includes", {}).get("tweets", [])}

    def expand(t):
        t = copy.deepcopy(t)
        if t.get("author_id") in users:
            t["author"] = users[t["author_id"]]
        if "referenced_tweets" in t:
            t["referenced_tweets"] = [{**r, **expand(tweets.get(r["id"], {}))} if r["id"] in
                                      tweets else r for r in t["referenced_tweets"]]
        return t

    return [{**expand(t), "__twarc": page["__twarc"]} for t in page.get("data", [])]


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


def x_collection(folder: Path, flat: bool = False) -> Path:
    """The X story as twarc2 writes it: search pages (raw or flattened) and user pages."""
    if flat:
        write_jsonl(folder / "search.jsonl", flatten(PAGE1) + flatten(PAGE2))
    else:
        write_jsonl(folder / "search.jsonl", [PAGE1, PAGE2])
    write_jsonl(folder / "followers-acme.jsonl", [FOLLOWERS])
    write_jsonl(folder / "following-carol.jsonl", [FOLLOWING])
    return folder


# -- Bluesky: AppView responses, keyed as the replay server answers them ----------------
def _did(name):
    return f"did:plc:{name}"


def _basic(name):
    return {"did": _did(name), "handle": f"{name}.bsky.social", "displayName": name.title(),
            "labels": []}


def _view(name):  # app.bsky.actor.defs#profileView
    return {**_basic(name), "indexedAt": "2025-01-01T00:00:00.000Z"}


def _detailed(name, followers):  # #profileViewDetailed
    return {**_view(name), "followersCount": followers, "followsCount": 10, "postsCount": 3}


def _uri(name, rkey):
    return f"at://{_did(name)}/app.bsky.feed.post/{rkey}"


def _post_view(name, rkey, at, text, *, facets=(), quote=None, counts=(0, 0, 0, 0)):
    likes, replies, reposts, quotes = counts
    record = {"$type": "app.bsky.feed.post", "text": text, "createdAt": at, "langs": ["en"]}
    if facets:
        record["facets"] = [{"index": {"byteStart": 0, "byteEnd": 1}, "features": [f]}
                            for f in facets]
    view = {"uri": _uri(name, rkey), "cid": f"bafy{rkey}", "author": _basic(name),
            "record": record, "replyCount": replies, "repostCount": reposts,
            "likeCount": likes, "quoteCount": quotes, "indexedAt": at, "labels": []}
    if quote is not None:
        record["embed"] = {"$type": "app.bsky.embed.record",
                           "record": {"uri": quote["uri"], "cid": quote["cid"]}}
        view["embed"] = {"$type": "app.bsky.embed.record#view", "record": {
            "$type": "app.bsky.embed.record#viewRecord", "uri": quote["uri"],
            "cid": quote["cid"], "author": quote["author"], "value": quote["record"],
            "indexedAt": quote["indexedAt"]}}
    return view


P1 = _post_view("acme", "p1", "2026-03-02T10:00:00.000Z", "Spring is here #springsale",
                facets=[{"$type": "app.bsky.richtext.facet#tag", "tag": "springsale"},
                        {"$type": "app.bsky.richtext.facet#link",
                         "uri": "https://acme.com/spring"}], counts=(4, 0, 3, 1))
P0 = _post_view("acme", "p0", "2026-02-01T10:00:00.000Z", "hello", counts=(1, 0, 0, 0))
Q1 = _post_view("bob", "q1", "2026-03-02T12:00:00.000Z", "love it", quote=P1,
                counts=(2, 0, 1, 0))
REPOST = "app.bsky.feed.defs#reasonRepost"


def _repost_item(view, by, at):
    return {"post": view, "reason": {"$type": REPOST, "by": _basic(by), "indexedAt": at}}


def appview_pages() -> dict:
    """{(method, params, cursor): response}: the Bluesky story, page by page."""
    people = [_did(n) for n in ("acme", "alice", "bob", "carol", "dave")]
    counts = {"acme": 3, "alice": 1, "bob": 2, "carol": 0, "dave": 1}
    pages = {
        ("app.bsky.actor.getProfiles", (("actors", ("acme.bsky.social",)),), None):
            {"profiles": [_detailed("acme", 3)]},
        ("app.bsky.actor.getProfiles", (("actors", tuple(people)),), None):
            {"profiles": [_detailed(d.split(":")[-1], counts[d.split(":")[-1]])
                          for d in people]},
        ("app.bsky.feed.getAuthorFeed", (("actor", (_did("acme"),)),
                                         ("filter", ("posts_no_replies",))), None):
            {"feed": [{"post": P1}], "cursor": "f2"},
        ("app.bsky.feed.getAuthorFeed", (("actor", (_did("acme"),)),
                                         ("filter", ("posts_no_replies",))), "f2"):
            {"feed": [{"post": P0}]},
        ("app.bsky.feed.getRepostedBy", (("uri", (P1["uri"],)),), None):
            {"uri": P1["uri"], "repostedBy": [_view("alice")], "cursor": "r2"},
        ("app.bsky.feed.getRepostedBy", (("uri", (P1["uri"],)),), "r2"):
            {"uri": P1["uri"], "repostedBy": [_view("dave")]},
        ("app.bsky.feed.getQuotes", (("uri", (P1["uri"],)),), None):
            {"uri": P1["uri"], "posts": [Q1]},
        ("app.bsky.feed.getRepostedBy", (("uri", (P0["uri"],)),), None):
            {"uri": P0["uri"], "repostedBy": []},
        ("app.bsky.feed.getQuotes", (("uri", (P0["uri"],)),), None):
            {"uri": P0["uri"], "posts": []},
        ("app.bsky.feed.getRepostedBy", (("uri", (Q1["uri"],)),), None):
            {"uri": Q1["uri"], "repostedBy": [_view("carol")]},
        ("app.bsky.feed.getQuotes", (("uri", (Q1["uri"],)),), None):
            {"uri": Q1["uri"], "posts": []},
        ("app.bsky.feed.getAuthorFeed", (("actor", (_did("alice"),)),), None):
            {"feed": [_repost_item(P1, "alice", "2026-03-02T11:00:00.000Z")]},
        ("app.bsky.feed.getAuthorFeed", (("actor", (_did("dave"),)),), None):
            {"feed": []},  # dave's repost is not in his feed: its time stays unknown
        ("app.bsky.feed.getAuthorFeed", (("actor", (_did("carol"),)),), None):
            {"feed": [_repost_item(Q1, "carol", "2026-03-02T13:00:00.000Z")]},
    }
    followers = {"acme": [["alice", "bob"], ["zed"]], "alice": [["carol"]],
                 "bob": [["carol", "erin"]], "carol": [[]], "dave": [["frank"]]}
    for name, chunks in followers.items():
        for i, chunk in enumerate(chunks):
            page = {"subject": _view(name), "followers": [_view(f) for f in chunk]}
            if i + 1 < len(chunks):
                page["cursor"] = f"c{i + 1}"
            pages[("app.bsky.graph.getFollowers", (("actor", (_did(name),)),),
                   f"c{i}" if i else None)] = page
    return pages


#: what the Bluesky collection must load as (network bluesky)
BSKY_POSTS = {P1["uri"]: _did("acme"), P0["uri"]: _did("acme")}
BSKY_SHARES = {  # share -> (post, sharer, parent, kind, hour)
    f"{P1['uri']}#repost-by-{_did('alice')}": (P1["uri"], _did("alice"), None, "repost", 11),
    Q1["uri"]: (P1["uri"], _did("bob"), P1["uri"], "quote", 12),
    f"{Q1['uri']}#repost-by-{_did('carol')}": (P1["uri"], _did("carol"), Q1["uri"], "repost",
                                              13),
}
BSKY_UNDATED = f"{P1['uri']}#repost-by-{_did('dave')}"
BSKY_FOLLOWS = {(_did(a), _did(b)) for a, b in (
    ("alice", "acme"), ("bob", "acme"), ("zed", "acme"), ("carol", "alice"), ("carol", "bob"),
    ("erin", "bob"), ("frank", "dave"))}
