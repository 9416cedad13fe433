"""CSV that a spreadsheet opens as data, never as formulas.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
run as a formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(…)`` in an
account handle becomes a live link). Following OWASP's advice on CSV injection, such
cells get a leading single quote, which spreadsheets show as text. Only text columns
are touched: numbers (``-5``) stay numbers, and Parquet exports keep every value exact.
"""

from __future__ import annotations

from typing import IO

import polars as pl

TRIGGERS = r"^[=+\-@\t\r]"


def neutralise(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells starting like a formula, prefixed with ``'``."""
    text = [c for c, t in df.schema.items() if t == pl.String]
    return df.with_columns(
        pl.when(pl.col(c).str.contains(TRIGGERS)).then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c)).alias(c) for c in text)


def write_csv(df: pl.DataFrame, target: str | IO[bytes] | IO[str]) -> None:
    neutralise(df).write_csv(target)
