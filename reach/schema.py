"""The canonical input tables (README.md, "Input: the canonical tables"), defined once.

Every reader produces these columns, every rule and metric reads them.
IDs are strings scoped by network; the lake adds dense integer keys
(``*_key`` columns, Int32, per network) beside them so that the follower
graph can be held as arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

TIMESTAMP = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partitioned: bool = True
    #: string account-id column -> dense key column added by the lake
    account_keys: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


S, INT, F, B, T = pl.String(), pl.Int64(), pl.Float64(), pl.Boolean(), TIMESTAMP

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "campaigns",
            (
                Column("campaign_id", S, True, "campaign identifier"),
                Column("name", S, True, "display name"),
                Column("start_at", T, doc="campaign start (UTC)"),
                Column("end_at", T, doc="campaign end (UTC)"),
                Column("objective", S, doc="awareness, engagement, conversion, ..."),
            ),
            key=("campaign_id",),
            partitioned=False,
        ),
        Table(
            "accounts",
            (
                Column("network", S, True, "social network, lower case"),
                Column("account_id", S, True, "account id on that network"),
                Column("handle", S, doc="display handle"),
                Column("followers_count", INT, doc="follower count the platform reports"),
                Column("is_brand", B, doc="account belongs to the brand"),
                Column("person_id", S, doc="joins one person's accounts across networks"),
            ),
            key=("network", "account_id"),
            account_keys={"account_id": "account_key"},
        ),
        Table(
            "follows",
            (
                Column("network", S, True),
                Column("follower_id", S, True, "the account that follows"),
                Column("followee_id", S, True, "the account followed"),
                Column("followed_at", T),
            ),
            key=("network", "follower_id", "followee_id"),
            account_keys={"follower_id": "follower_key", "followee_id": "followee_key"},
        ),
        Table(
            "posts",
            (
                Column("network", S, True),
                Column("post_id", S, True),
                Column("account_id", S, True, "author"),
                Column("created_at", T, True),
                Column("campaign_id", S, doc="null = organic baseline post"),
                Column("post_type", S, doc="image, video, text, link, ..."),
                Column("impressions", INT),
                Column("likes", INT),
                Column("comments", INT),
                Column("shares", INT, doc="reshares the platform counts (may exceed share rows)"),
                Column("clicks", INT),
                Column("reach", INT, doc="distinct accounts the platform says saw the post "
                                         "(a suite's per-post unique reach), where exported"),
                Column("sentiment", F, doc="-1 (negative) .. 1 (positive)"),
            ),
            key=("network", "post_id"),
            account_keys={"account_id": "account_key"},
        ),
        Table(
            "shares",
            (
                Column("network", S, True),
                Column("share_id", S, True),
                Column("post_id", S, True, "root post of the cascade"),
                Column("sharer_id", S, True),
                Column("created_at", T, True),
                Column("parent_id", S, doc="share_id or post_id reshared from; empty = unknown"),
                Column("kind", S, doc="repost (plain reshare) or quote (reshare with a "
                                      "comment); empty = repost"),
            ),
            key=("network", "share_id"),
            account_keys={"sharer_id": "sharer_key"},
        ),
        Table(
            "conversions",
            (
                Column("network", S, True),
                Column("account_id", S, True),
                Column("converted_at", T, True),
                Column("value", F, doc="conversion value, in the brand's currency"),
            ),
            key=("network", "account_id", "converted_at"),
            account_keys={"account_id": "account_key"},
        ),
    )
}

#: tables in the order a load must handle them (referenced tables first)
LOAD_ORDER = ("campaigns", "accounts", "follows", "posts", "shares", "conversions")
