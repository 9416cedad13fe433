"""The marts' column definitions, read from docs/marts.md: hover text in the dashboard and
column comments in the warehouse come from the same table rows."""

from __future__ import annotations

import re

from reach.resources import resource


def column_docs(text: str | None = None) -> dict[str, dict[str, str]]:
    """docs/marts.md as {mart: {column: "meaning [unit]"}}."""
    if text is None:
        text = resource("docs", "marts.md").read_text()
    out: dict[str, dict[str, str]] = {}
    mart, in_table = None, False
    for line in text.splitlines():
        head = re.match(r"^## (\w+) —", line)
        if head:
            mart, in_table = head.group(1), False
            out[mart] = {}
            continue
        if mart and in_table and not line.startswith("|"):
            mart = None  # only a section's first table defines columns; later ones are prose
            continue
        in_table = in_table or line.startswith("|")
        row = re.match(r"^\| ([a-z0-9_, ]+) \| (.*?) \| (.*) \|$", line)
        if mart and row and row.group(1) != "column":
            unit, meaning = row.group(2), row.group(3).replace("\\|", "|")
            doc = meaning if unit in ("—", "") else f"{meaning} [{unit}]"
            for col in row.group(1).split(","):
                out[mart][col.strip()] = doc
    return out
