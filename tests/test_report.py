"""The campaign report: its numbers are the marts', and Chromium prints it to a PDF whose
text names the campaign (read back with pypdf) or to an A4-shaped PNG."""

from __future__ import annotations

import struct

import polars as pl
import pytest

from dashboards.queries import MartReader
from dashboards.report import report_html

from .test_dashboard_browser import _browser_or_skip


def _campaign(sample_lake) -> tuple[str, dict]:
    reader = MartReader(sample_lake[0], 0)
    reach = reader.read("reach").filter(pl.col("network") == "all").sort(
        "total_reach", descending=True)
    row = reach.row(0, named=True)
    name = reader.campaigns().filter(pl.col("campaign_id") == row["campaign_id"])["name"][0]
    return row["campaign_id"], row | {"name": name}


def test_the_report_carries_the_marts_numbers(sample_lake):
    campaign, row = _campaign(sample_lake)
    page = report_html(MartReader(sample_lake[0], 0), campaign)
    assert f"<h1>{row['name']}</h1>" in page
    assert f"{row['total_reach']:,}" in page and f"{row['potential_reach']:,}" in page
    assert "an association" in page or "no significant uplift" in page
    assert "<script src=" not in page and "http" not in page.split("<body>")[1].split(
        "</script>")[-1]  # nothing fetched: the report is printed offline


def test_an_unknown_campaign_is_named(sample_lake):
    from reach.errors import UsageError
    with pytest.raises(UsageError, match="no campaign 'nope'"):
        report_html(MartReader(sample_lake[0], 0), "nope")


def test_reach_report_prints_a_pdf_that_names_the_campaign(sample_lake, tmp_path):
    _browser_or_skip()
    from pypdf import PdfReader

    from reach_cli.main import main
    campaign, row = _campaign(sample_lake)
    out = tmp_path / "report.pdf"
    assert main(["report", "--lake", str(sample_lake[0]), "--campaign", campaign,
                 "--out", str(out), "--min-people", "0"]) == 0
    assert out.read_bytes()[:5] == b"%PDF-"
    pdf = PdfReader(out)
    assert len(pdf.pages) == 1
    text = pdf.pages[0].extract_text()
    assert row["name"] in text and f"{row['total_reach']:,}" in text


def test_the_report_as_an_image(sample_lake, tmp_path):
    _browser_or_skip()
    from dashboards.report import render
    campaign, _ = _campaign(sample_lake)
    out = render(report_html(MartReader(sample_lake[0], 0), campaign), tmp_path / "r.png")
    head = out.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert (width, height) == (1240, 1754)
