"""What platform readers (X API, Bluesky) collect, and how it becomes canonical tables.

A platform's items are posts, reposts and quotes. A repost or quote is a share; its
``post_id`` is the original at the end of its chain of quotes, and a chain that ends at an
item absent from the collection is quarantined (rule ``original-missing``), never dropped.
Each reader fills a :class:`Collection` from its own JSON shapes; the mapping onto
the tables is written once, here.
"""

from __future__ import annotations

from collections import Counter

import polars as pl

from .base import Extract, TablePart

ITEM_SCHEMA = {
    "id": pl.String, "author_id": pl.String, "created_at": pl.String, "kind": pl.String,
    "ref": pl.String, "reason": pl.String, "likes": pl.Int64, "comments": pl.Int64,
    "shares": pl.Int64, "impressions": pl.Int64, "file": pl.String, "line": pl.Int64,
    "included": pl.Boolean}


class Collection:
    """Items (posts and shares), users, follow edges and counts of what was skipped."""

    def __init__(self, word: str, repost_word: str):
        self.word = word  # "tweet", "post": how the platform names an item
        self.repost_word = repost_word  # "retweet", "repost"
        self.items: dict[str, tuple] = {}
        self.seen_twice = 0
        self.users: dict[str, tuple[str | None, int | None]] = {}
        self.entities: list[tuple[str, str, str]] = []
        self.follows: list[tuple[str, str, str, int]] = []
        self.problems: Counter[str] = Counter()
        self.warnings: list[str] = []

    def user(self, uid, handle: str | None, followers: int | None) -> str | None:
        """Remember an account; a later sighting fills a follower count the first lacked."""
        if uid is None:
            return None
        uid = str(uid)
        old = self.users.get(uid)
        if old is None or (followers is not None and old[1] is None):
            self.users[uid] = (handle if handle is not None or old is None else old[0],
                               followers)
        return uid

    def known(self, iid: str, included: bool) -> bool:
        """Whether a sighting of ``iid`` adds nothing (counted when it is a repeat).

        The first sighting wins, except that an item collected for itself replaces one
        only seen as a reference (a page's includes, an embedded quote)."""
        old = self.items.get(iid)
        if old is None or (not included and old[-1]):
            return False
        if not included:
            self.seen_twice += 1
        return True

    def item(self, row: tuple, entities: list[tuple[str, str]] = ()) -> bool:
        """Add one item (a tuple in ITEM_SCHEMA order); False if it was already there."""
        iid = row[0]
        if self.known(iid, row[-1]):
            return False
        self.items[iid] = row
        self.entities.extend((iid, k, v) for k, v in entities)
        return True

    def follow(self, follower: str, followee: str, file: str, line: int) -> None:
        self.follows.append((follower, followee, file, line))

    def warn(self, text: str) -> None:
        if len(self.warnings) < 5:
            self.warnings.append(text)

    def roots(self) -> dict[str, str | None]:
        """The original at the end of each share's chain of references (None: unknown)."""
        root: dict[str, str | None] = {}
        for iid, row in self.items.items():
            if row[3] is None:
                continue
            path, cur = [], iid
            while True:
                if cur in root:
                    found = root[cur]
                    break
                t = self.items.get(cur)
                if t is None or len(path) > 10_000 or cur in path:
                    found = None
                    break
                if t[3] is None:
                    found = cur
                    break
                path.append(cur)
                cur = t[4]
            for p in path:
                root[p] = found
        return root

    def to_parts(self, ext: Extract, net: str) -> None:
        """Fill ``ext`` with the accounts, follows, posts and shares this collection holds."""
        t = pl.DataFrame(list(self.items.values()), schema=ITEM_SCHEMA, orient="row")
        t = t.with_columns(pl.col("id").replace_strict(self.roots(), default=None,
                                                       return_dtype=pl.String).alias("root"),
                           pl.lit(net).alias("network"))
        posts = t.filter(pl.col("kind").is_null())
        shares = t.filter(pl.col("kind").is_not_null())
        what = pl.when(pl.col("kind") == "repost").then(pl.lit(self.repost_word)).otherwise(
            pl.lit("quote"))
        missing = pl.when(pl.col("ref").is_in(t["id"].implode())).then(pl.format(
            "a {} of {} {}, whose chain of quotes leads to a {} that is neither in the "
            "collection nor referenced by it, so the original post is unknown (rule: "
            "original-missing)", what, pl.lit(self.word), pl.col("ref"), pl.lit(self.word))
        ).otherwise(pl.format(
            "a {} of {} {}, which is neither in the collection nor referenced by it, so the "
            "original post is unknown (rule: original-missing)", what, pl.lit(self.word),
            pl.col("ref")))
        shares = shares.with_columns(
            pl.col("id").alias("share_id"), pl.coalesce("root", "ref").alias("post_id"),
            pl.col("author_id").alias("sharer_id"),
            # a quote names what it quotes; a repost of a quote names the quote; a repost
            # of an original does not say through whom it came (reconstructed)
            pl.when((pl.col("kind") == "quote") | pl.col("ref").is_in(shares["id"].implode()))
            .then(pl.col("ref")).alias("parent_id"),
            pl.when(pl.col("root").is_null() & pl.col("reason").is_null()).then(missing)
            .otherwise(pl.col("reason")).alias("reason"))
        posts = posts.rename({"id": "post_id", "author_id": "account_id"})
        users = pl.DataFrame([(k, *v) for k, v in self.users.items()],
                             schema={"account_id": pl.String, "handle": pl.String,
                                     "followers_count": pl.Int64}, orient="row")
        follows = pl.DataFrame(self.follows, schema={
            "follower_id": pl.String, "followee_id": pl.String, "file": pl.String,
            "line": pl.Int64}, orient="row")
        seen = pl.concat([posts.select("account_id"),
                          shares.select(pl.col("sharer_id").alias("account_id")),
                          follows.select(pl.col("follower_id").alias("account_id")),
                          follows.select(pl.col("followee_id").alias("account_id"))]
                         ).drop_nulls().unique()
        accounts = pl.concat([users, seen.join(users, on="account_id", how="anti")],
                             how="diagonal").with_columns(pl.lit(net).alias("network"))
        ext.entities = pl.DataFrame(self.entities, schema={
            "post_id": pl.String, "kind": pl.String, "value": pl.String}, orient="row")
        ext.repairs[f"{self.word}s seen more than once (overlapping pages), kept once"] = (
            self.seen_twice)
        ext.repairs.update(self.problems)
        ext.warnings.extend(self.warnings)
        parts = [
            TablePart("accounts", accounts, "accounts in the collection",
                      pl.int_range(1, accounts.height + 1, eager=True), "account"),
            TablePart("follows", follows.select(pl.lit(net).alias("network"), "follower_id",
                                                "followee_id"),
                      "follower pages", follows["line"], files=follows["file"]),
            TablePart("posts", posts.select("network", "post_id", "account_id", "created_at",
                                            "impressions", "likes", "comments", "shares"),
                      f"{self.word}s", posts["line"], files=posts["file"],
                      reader_reason=posts["reason"]),
            TablePart("shares", shares.select("network", "share_id", "post_id", "sharer_id",
                                              "created_at", "parent_id", "kind"),
                      f"{self.word}s", shares["line"], files=shares["file"],
                      reader_reason=shares["reason"]),
        ]
        ext.parts = [p for p in parts if p.raw.height or p.table in ("accounts", "posts")]
