"""Expectation suites (``expectations/*.json``) as row-level Polars checks.

The suites are Great Expectations 1.x documents, kept as data. Great Expectations
answers "does this table pass?" with counts and samples; the loader needs more: the
exact rows that fail and why, at tens of millions of rows, so it can quarantine them.
This module compiles each row-level expectation into a vectorised Polars mask and a
message, with Great Expectations' semantics (column-map rules skip nulls; pair rules
skip rows where either side is missing). ``etl.gx`` runs the same suites through
Great Expectations itself, and a test proves the two flag the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from reach.errors import ReachError
from reach.resources import resource

#: handled by the loader's key-deduplication step (first row kept), not row by row
KEY_RULES = ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique")


def suites_dir() -> Path:
    """The expectations/ folder: $REACH_EXPECTATIONS, the source checkout, or the install."""
    return resource("expectations", env="REACH_EXPECTATIONS")


@cache
def load_suite(table: str) -> dict[str, Any]:
    return json.loads((suites_dir() / f"{table}.json").read_text())


def _param(value: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        name = value["$PARAMETER"]
        if name not in params:
            raise ReachError(f"expectation parameter '{name}' was not supplied")
        return params[name]
    return value


#: prefix of the per-column flags marking values that failed to parse (etl.parse)
TYPE_FAILED = "__type_failed_"


def compile_expectation(exp: Mapping[str, Any], params: Mapping[str, Any],
                        schema: Mapping[str, pl.DataType] | None = None
                        ) -> tuple[pl.Expr, pl.Expr] | None:
    """(violation mask, message) for one expectation, or None for key rules."""
    schema = schema or {}

    def _show(c: str) -> pl.Expr:
        if isinstance(schema.get(c), pl.Datetime):
            return pl.col(c).dt.strftime("%Y-%m-%d %H:%M:%S UTC")
        return pl.col(c).cast(pl.String).str.slice(0, 60)

    kind, kw = exp["type"], exp["kwargs"]
    meta = exp.get("meta", {})
    tail = f"{meta.get('message', kind)} (rule: {meta.get('rule', kind)})"
    col = kw.get("column")
    # the column a message names and shows: the checked one, or for a rule on a derived
    # context column the input column it came from (``meta.show``)
    shown = meta.get("show", col)
    if kind in KEY_RULES:
        return None
    if kind == "expect_column_values_to_not_be_null":
        mask = pl.col(col).is_null()
        if TYPE_FAILED + col in schema:  # unreadable, not empty: already reported as such
            mask = mask & ~pl.col(TYPE_FAILED + col)
        if shown != col:
            return mask, pl.format("`{}` is '{}'; {}", pl.lit(shown), _show(shown), pl.lit(tail))
        return mask, pl.lit(f"`{col}` is empty; {tail}")
    if kind == "expect_column_values_to_be_between":
        lo, hi = _param(kw.get("min_value"), params), _param(kw.get("max_value"), params)
        c = pl.col(col)
        bad = pl.lit(False)
        if lo is not None:
            bad = bad | ((c <= lo) if kw.get("strict_min") else (c < lo))
        if hi is not None:
            bad = bad | ((c >= hi) if kw.get("strict_max") else (c > hi))
        return c.is_not_null() & bad, pl.format("`{}` is {}; {}", pl.lit(shown), _show(shown),
                                                pl.lit(tail))
    if kind == "expect_column_values_to_be_in_set":
        allowed = list(_param(kw["value_set"], params))
        c = pl.col(col)
        bad = c.is_not_null() & ~c.is_in(pl.Series(allowed, dtype=pl.String)
                                          if all(isinstance(v, str) for v in allowed) else allowed)
        return bad, pl.format("`{}` is '{}'; {}", pl.lit(shown), _show(shown), pl.lit(tail))
    if kind == "expect_column_values_to_match_regex":
        c = pl.col(col)
        return (c.is_not_null() & ~c.str.contains(kw["regex"]),
                pl.format("`{}` is '{}'; {}", pl.lit(shown), _show(shown), pl.lit(tail)))
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = pl.col(kw["column_A"]), pl.col(kw["column_B"])
        worse = (a < b) if kw.get("or_equal") else (a <= b)
        return (a.is_not_null() & b.is_not_null() & worse,
                pl.format("`{}` is {} but `{}` is {}; {}", pl.lit(kw["column_A"]),
                          _show(kw["column_A"]), pl.lit(kw["column_B"]), _show(kw["column_B"]),
                          pl.lit(tail)))
    if kind == "expect_select_column_values_to_be_unique_within_record":
        cols = kw["column_list"]
        bad = pl.lit(False)
        for i, x in enumerate(cols):
            for y in cols[i + 1:]:
                bad = bad | (pl.col(x).is_not_null() & (pl.col(x) == pl.col(y)))
        return bad, pl.lit(tail)
    raise ReachError(f"expectation type '{kind}' in the `{exp.get('table', '?')}` suite is not "
                     "supported by the row-level checker; use one of the types in "
                     "etl/rules.py or check it only with `reach validate`")


def default_params(campaign_ids: list[str] | None = None) -> dict[str, Any]:
    from datetime import UTC
    return {"now": datetime.now(UTC), "campaign_ids": campaign_ids or []}


def row_violations(df: pl.DataFrame, table: str, params: Mapping[str, Any]) -> pl.Series:
    """One reason string per row that breaks a rule of ``table``'s suite, else null."""
    masks, msgs = [], []
    for exp in load_suite(table)["expectations"]:
        compiled = compile_expectation(exp, params, df.schema)
        if compiled is not None:
            masks.append(compiled[0])
            msgs.append(compiled[1])
    none = pl.Series("reason", [None] * df.height, dtype=pl.String)
    if not masks:
        return none
    flagged = df.select(pl.any_horizontal(masks).fill_null(False)).to_series()
    if not flagged.any():  # messages are built only for the rows that need one
        return none
    parts = [pl.when(m).then(msg) for m, msg in zip(masks, msgs, strict=True)]
    sub = df.filter(flagged).rechunk().select(  # rechunk: works around a Polars
        # panic with constant (scalar) columns after filter (polars 2.1)
        pl.concat_str(parts, separator="; ", ignore_nulls=True).alias("reason"))
    return none.scatter(flagged.arg_true(), sub["reason"])
