"""A lake on object storage: URIs reach the storage layer unmangled, and a whole
etl → compute → history → export cycle runs on S3 (moto's server on 127.0.0.1)."""

from __future__ import annotations

import logging

import polars as pl
import pytest

from etl.storage import Location
from reach.errors import UsageError
from reach_cli.main import build_parser, main

from .conftest import load_and_compute
from .gen import make_tables, write
from .ports import free_port


def test_uris_are_kept_as_text():
    s3a = Location("s3a://bucket/team/lake/")
    assert s3a.uri == "s3a://bucket/team/lake"
    assert s3a.join("tables", "follows") == "s3a://bucket/team/lake/tables/follows"
    assert s3a.delta("tables", "follows") == "s3://bucket/team/lake/tables/follows"
    assert s3a.local is None
    assert Location("abfss://c@acct.dfs.core.windows.net/lake").join("marts") == \
        "abfss://c@acct.dfs.core.windows.net/lake/marts"
    assert Location("gs://b/lake").delta_uri == "gs://b/lake"
    assert str(Location("file:///tmp/some/lake").local) == "/tmp/some/lake"
    with pytest.raises(UsageError, match="unknown storage scheme 'ftp'"):
        Location("ftp://host/lake")
    args = build_parser().parse_args(["compute", "--lake", "s3a://bucket/lake"])
    assert args.lake == "s3a://bucket/lake"  # not Path's s3a:/bucket/lake



@pytest.fixture
def s3(monkeypatch):
    """An S3 endpoint on 127.0.0.1 with one bucket, and the environment pointing at it."""
    moto_server = pytest.importorskip("moto.server")
    import boto3
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
        Bucket="reach")
    yield "s3a://reach/team/lake"
    server.stop()


def test_lake_on_s3_end_to_end(s3, tmp_path, capsys):
    src = write(make_tables(5), tmp_path / "src")
    assert main(["etl", str(src), "--lake", s3]) == 0
    assert main(["etl", str(src), "--lake", s3]) == 0  # the same inputs again: skipped
    assert "already loaded" in capsys.readouterr().out
    assert main(["compute", "--lake", s3]) == 0
    from etl.lake import Lake
    lake = Lake.open(s3)
    assert len(lake.history()) == 1
    assert all(f.startswith("s3://reach/team/lake/tables/follows/") for f in lake.files("follows"))
    # the same numbers as a lake on local disk
    local = load_and_compute(src, tmp_path / "local")
    keys = ["campaign_id", "network"]
    assert lake.read_mart("reach").sort(keys).equals(local["reach"].sort(keys))
    out = tmp_path / "reach.csv"
    batch = lake.history()[0]["batch_id"]
    assert main(["export", "--lake", s3, "--mart", "reach", "--out", str(out),
                 "--min-people", "0", "--as-of", batch]) == 0
    assert pl.read_csv(out).height == local["reach"].height


def test_unreachable_store_is_a_message(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing there
    for k, v in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                 "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true",
                 "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(k, v)
    assert main(["compute", "--lake", "s3a://bucket/some/lake"]) != 0
    msg = capsys.readouterr().err
    assert "cannot read the lake at s3a://bucket/some/lake" in " ".join(msg.split())
    assert "refused" in msg.lower()
