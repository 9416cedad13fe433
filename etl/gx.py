"""Run the expectation suites through Great Expectations itself (``reach validate``).

The loader checks rows with the same suites compiled to Polars (``etl.rules``); this
module is the independent second opinion on the whole lake, and it writes Great
Expectations' HTML data docs to ``LAKE/docs/gx/uncommitted/data_docs/local_site/``.
The last result is also kept in ``LAKE/validation.json`` for the dashboard.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from reach.schema import LOAD_ORDER, TABLES

from .context import follows_context, posts_context, shares_context
from .lake import Lake
from .rules import default_params, load_suite

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass
class ExpectationResult:
    table: str
    expectation: str
    columns: str
    rule: str
    success: bool
    unexpected: int
    sample: list[Any] = field(default_factory=list)


@dataclass
class LakeValidation:
    success: bool
    results: list[ExpectationResult]
    docs_index: Path | None
    manifest_problems: list[str]
    checked_at: str

    def to_json(self) -> dict[str, Any]:
        return {"success": self.success, "checked_at": self.checked_at,
                "docs_index": str(self.docs_index) if self.docs_index else None,
                "manifest_problems": self.manifest_problems,
                "results": [vars(r) | {"sample": [str(s) for s in r.sample]}
                            for r in self.results]}


def table_frame(lake: Lake, table: str) -> pl.DataFrame:
    """The table as the suites see it: canonical columns plus context columns."""
    df = lake.read(table).select(TABLES[table].names)
    if table == "shares":
        df = shares_context(df, lake.read("posts").select(TABLES["posts"].names), df)
    elif table == "posts":
        df = posts_context(df, lake.read("shares").select(TABLES["shares"].names))
    elif table == "follows":
        df = follows_context(df)
    return df


def manifest_problems(lake: Lake) -> list[str]:
    """Rows in = accepted + quarantined, for every table of every load."""
    out = []
    for load in lake.manifest()["loads"]:
        for table, c in load["tables"].items():
            if c["rows_in"] != c["accepted"] + c["quarantined"]:
                out.append(f"batch {load['batch_id']} {table}: rows in {c['rows_in']} != "
                           f"accepted {c['accepted']} + quarantined {c['quarantined']}")
    return out


def validate_lake(lake: Lake, *, docs: bool = True) -> LakeValidation:
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # Great Expectations keeps its project (and the data docs) in a local folder: the
    # lake's own, or a temporary one for a lake on object storage.
    home = lake.location.local or Path(tempfile.mkdtemp(prefix="reach-validate-"))
    root = home / "docs"
    root.mkdir(parents=True, exist_ok=True)
    ctx = gx.get_context(mode="file", project_root_dir=str(root))
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    ctx.variables.save()
    source = ctx.data_sources.add_or_update_pandas("lake")
    campaign_ids = lake.read("campaigns")["campaign_id"].to_list()
    params = default_params(campaign_ids)
    results: list[ExpectationResult] = []
    for table in LOAD_ORDER:
        if not lake.has(table):
            continue
        df = table_frame(lake, table).to_pandas()
        try:
            asset = source.get_asset(table)
        except LookupError:
            asset = source.add_dataframe_asset(table)
        try:
            batch_def = asset.get_batch_definition("whole")
        except (KeyError, LookupError):
            batch_def = asset.add_batch_definition_whole_dataframe("whole")
        suite = ctx.suites.add_or_update(gx.ExpectationSuite(**_suite_doc(table)))
        vd = ctx.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"lake-{table}", data=batch_def, suite=suite))
        actions = [UpdateDataDocsAction(name="data-docs")] if docs else []
        cp = ctx.checkpoints.add_or_update(gx.Checkpoint(
            name=f"lake-{table}", validation_definitions=[vd], actions=actions,
            result_format="SUMMARY"))
        run = cp.run(batch_parameters={"dataframe": df}, expectation_parameters=params)
        for res in run.run_results.values():
            for r in res.results:
                cfg = r.expectation_config
                kw = cfg.kwargs
                cols = kw.get("column") or ", ".join(kw.get("column_list", [])) or ", ".join(
                    filter(None, [kw.get("column_A"), kw.get("column_B")]))
                results.append(ExpectationResult(
                    table, cfg.type, cols, (cfg.meta or {}).get("rule", cfg.type),
                    bool(r.success), int(r.result.get("unexpected_count") or 0),
                    list(r.result.get("partial_unexpected_list") or [])[:5]))
    problems = manifest_problems(lake)
    index = root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    report = LakeValidation(all(r.success for r in results) and not problems, results,
                            index.resolve() if docs and index.exists() else None, problems,
                            datetime.now(UTC).isoformat())
    tmp = home / ".validation.json.tmp"
    tmp.write_text(json.dumps(report.to_json(), indent=2, default=str))
    os.replace(tmp, home / "validation.json")
    return report


def _suite_doc(table: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(load_suite(table)))
    doc.pop("id", None)
    return doc
