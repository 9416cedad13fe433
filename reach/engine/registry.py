"""Every mart, declared once: name → builder, key, schema, description, people columns.

The engine builds marts in this order; the warehouse DDL, the docs check, `reach export`,
`reach publish`, the dashboard's reader, the privacy threshold and the Spark parity tests
all read this table. Adding a mart is one module (its builder and schema) plus one entry.
A builder takes the compute context (``reach.engine.marts.Context``: the lake's tables, the
follower graphs, the campaign cells, the cascade forest and the marts built before it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from reach.attribution.models import MART_SCHEMA as ATTRIBUTION_SCHEMA
from reach.attribution.models import attribution_mart
from reach.audience.distinct import REACH_SCHEMA, reach_rows
from reach.audience.frequency import BUCKETS, FREQUENCY_SCHEMA, frequency_rows
from reach.audience.timeline import TIMELINE_SCHEMA, timeline_rows
from reach.audience.weekly import WEEKLY_SCHEMA, weekly_rows
from reach.cascades.amplifiers import AMPLIFIER_SCHEMA, amplifier_rows
from reach.cascades.nodes import NODE_SCHEMA, cascade_node_rows
from reach.cascades.trees import CASCADE_SCHEMA, cascade_metrics
from reach.cascades.waves import WAVE_SCHEMA, wave_rows
from reach.followers.two_hop import TWO_HOP_SCHEMA, two_hop_rows
from reach.uplift.engagement import RATE_SCHEMA, rate_rows
from reach.uplift.mart import UPLIFT_SCHEMA, uplift_mart

if TYPE_CHECKING:
    from reach.engine.marts import Context


@dataclass(frozen=True)
class Mart:
    name: str
    key: tuple[str, ...]  #: the columns that name one row (the warehouse's primary key)
    schema: dict[str, pl.DataType]
    description: str  #: one line; docs/marts.md documents every column
    build: Callable[[Context], pl.DataFrame]
    step: str = ""  #: what the progress line says while it is built
    needs: tuple[str, ...] = ()  #: optional lake tables without which it is skipped
    spark: bool = False  #: the Spark engine computes it too (row-for-row equal)
    #: columns counting distinct people: the privacy threshold applies to them
    people: tuple[str, ...] = ()
    #: column -> the columns it would reveal (suppressed with any of them)
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: (total, part, part, ...) within a row: total = Σ parts
    sums: tuple[tuple[str, ...], ...] = ()
    #: (people column, row group): Σ over the rows of the group is published elsewhere
    row_sums: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: (cumulative column, increment column or "", row group, order column)
    running: tuple[tuple[str, str, tuple[str, ...], str], ...] = ()

    @property
    def by_campaign(self) -> bool:
        return "campaign_id" in self.key


_FREQ_BUCKETS = tuple(BUCKETS)


def _reach(c) -> pl.DataFrame:
    # person links and cells first: read on this thread while the compute pool reads
    # the reported counts and builds the graphs (marts.Context.start_graphs)
    links, cells = c.links, c.cells
    return reach_rows(cells, c.graphs, c.potential, links, sketches=c.stores or None,
                      approx=c.spec.approx, exact_limit=c.spec.exact_limit,
                      sampled=c.sampled, modelled=c.modelled)


_DECLARED = (
    Mart("reach", ("campaign_id", "network"), REACH_SCHEMA,
         "distinct reach per campaign × network, first and second degree, beside the "
         "potential-reach sum",
         _reach,
         step="reach", spark=True,
         people=("first_degree_reach", "second_degree_reach", "total_reach",
                 "total_reach_low", "total_reach_high"),
         derived={"dedup_ratio": ("total_reach",)},
         sums=(("total_reach", "first_degree_reach", "second_degree_reach"),),
         row_sums=tuple((c, ("campaign_id",)) for c in
                        ("first_degree_reach", "second_degree_reach", "total_reach"))),
    Mart("cascades", ("network", "post_id"), CASCADE_SCHEMA,
         "one row per post: size, depth, breadth, structural virality, reach, speed",
         lambda c: cascade_metrics(c.forest, c.tables["posts"], c.graphs, c.reported),
         step="cascades", spark=True,
         people=("total_reach", "total_reach_low", "total_reach_high")),
    Mart("cascade_nodes", ("network", "post_id", "node_id"), NODE_SCHEMA,
         "the largest cascades node by node, with the people each node added",
         lambda c: cascade_node_rows(c.forest, c.marts["cascades"], c.graphs),
         people=("reach_added",), row_sums=(("reach_added", ("network", "post_id")),)),
    Mart("amplifiers", ("campaign_id", "network", "account_id"), AMPLIFIER_SCHEMA,
         "who amplified each campaign: shares triggered, incremental and Shapley reach",
         lambda c: amplifier_rows(c.cells, c.graphs, c.triggered, c.key_ids, c.reported,
                                  c.sampled),
         step="amplifiers", spark=True, people=("incremental_reach", "shapley_reach"),
         row_sums=(("shapley_reach", ("campaign_id", "network")),)),
    Mart("timeline", ("campaign_id", "network", "bucket_start"), TIMELINE_SCHEMA,
         "cumulative distinct reach over time per campaign × network",
         lambda c: timeline_rows(c.cells, c.graphs, c.sampled),
         step="timeline", spark=True, people=("new_reach", "cumulative_reach"),
         running=(("cumulative_reach", "new_reach", ("campaign_id", "network"),
                   "bucket_start"),)),
    Mart("frequency", ("campaign_id", "network", "scope"), FREQUENCY_SCHEMA,
         "people by opportunities to see (1..10, 11+), effective reach (3+), average "
         "frequency; first degree and reshares apart",
         lambda c: frequency_rows(c.items, c.graphs, c.links, c.reported),
         step="frequency", people=_FREQ_BUCKETS + ("reach_1_plus", "reach_3_plus"),
         # opportunities = Σ k·people_k: with the buckets it would solve for two of them
         derived={"opportunities": _FREQ_BUCKETS,
                  "average_frequency": ("reach_1_plus", "opportunities") + _FREQ_BUCKETS},
         sums=(("reach_1_plus",) + _FREQ_BUCKETS,
               ("reach_3_plus",) + _FREQ_BUCKETS[2:]),
         # the `all` row adds up the networks where nobody is linked; scopes add up OTS
         row_sums=tuple((c, ("campaign_id", "scope")) for c in
                        _FREQ_BUCKETS + ("reach_1_plus", "reach_3_plus"))
         + (("opportunities", ("campaign_id", "network")),)),
    Mart("reach_frequency_weekly", ("level", "campaign_id", "network", "week_start"),
         WEEKLY_SCHEMA,
         "per network (channel) × ISO week and per campaign × network × week: people "
         "reached, opportunities to see, average frequency, cumulative reach",
         lambda c: weekly_rows(c.items, c.graphs, c.reported),
         step="weekly reach and frequency", people=("reach", "cumulative_reach"),
         derived={"average_frequency": ("reach",)},
         row_sums=(("reach", ("network", "week_start")),),
         running=(("cumulative_reach", "", ("level", "campaign_id", "network"),
                   "week_start"),)),
    Mart("two_hop", ("network", "account_id"), TWO_HOP_SCHEMA,
         "everyone within two follows of each brand account and campaign author",
         lambda c: two_hop_rows(c.two_hop_subjects, c.graphs, c.reported),
         step="two-hop audiences", spark=True, people=("first_degree", "two_hop_audience")),
    Mart("waves", ("network", "post_id"), WAVE_SCHEMA,
         "negative waves: posts with sentiment < 0 by non-brand accounts and their cascades",
         lambda c: wave_rows(c.marts["cascades"], c.tables["posts"], c.tables["accounts"],
                             c.forest, c.graphs),
         step="waves", people=("total_reach",)),
    Mart("uplift", ("campaign_id", "network", "method"), UPLIFT_SCHEMA,
         "did the campaign lift engagement per post, with intervals and adjusted p-values",
         lambda c: uplift_mart(c.engagement_frame, spec=c.spec.uplift),
         step="engagement uplift (negative-binomial GLM, structural time series)"),
    Mart("engagement", ("campaign_id", "network"), RATE_SCHEMA,
         "engagement rates of campaign and organic posts with intervals",
         lambda c: rate_rows(c.engagement_frame)),
    Mart("attribution", ("model", "channel_type", "channel"), ATTRIBUTION_SCHEMA,
         "conversions credited to campaigns and networks under every attribution model",
         lambda c: attribution_mart(*c.attribution_paths, c.spec.attribution),
         step="conversion paths and attribution models", needs=("conversions",)),
)

MARTS: dict[str, Mart] = {m.name: m for m in _DECLARED}
SPARK_MARTS = tuple(m.name for m in _DECLARED if m.spark)


def mart(name: str) -> Mart:
    """The declaration of one mart, or a message naming the ones there are."""
    if name not in MARTS:
        from reach.errors import UsageError
        raise UsageError(f"unknown mart '{name}'; the marts are: {', '.join(MARTS)}")
    return MARTS[name]
