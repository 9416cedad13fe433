"""Reader benchmark: 1M tweets of twarc2 JSON lines into the lake vs DuckDB's read_json.

The collection is generated: raw X API v2 pages of 100 tweets (a fifth originals, the
rest retweets and quotes of earlier tweets), each page with its ``includes.users`` and
``includes.tweets`` as the API sends them. reach reads, maps, validates and loads it
(quarantine, keys, Delta commit); DuckDB only converts the same file to Parquet
(``COPY (SELECT * FROM read_json(...)) TO ...``). Target: reach within 2x of DuckDB,
memory bounded by the rows kept, not by the file's text.

    python benchmarks/bench_readers.py [--tweets 1000000] [--data .bench/twarc]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from pathlib import Path

from _harness import run_side

PAGE = 100


def generate(path: Path, tweets: int, seed: int = 7) -> None:
    """Raw twarc2 pages: ``tweets`` tweets, 100 a page."""
    import orjson
    rng = random.Random(seed)
    users = [{"id": str(10_000 + i), "username": f"user{i}", "name": f"User {i}",
              "public_metrics": {"followers_count": rng.randint(0, 5000),
                                 "following_count": 100, "tweet_count": 10,
                                 "listed_count": 0}} for i in range(50_000)]
    originals: list[dict] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = 1_772_400_000  # 2026-03-01
    with open(path, "wb") as fh:
        for start in range(0, tweets, PAGE):
            data, refs = [], {}
            for i in range(start, min(start + PAGE, tweets)):
                author = users[rng.randrange(len(users))]
                at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t0 + i * 2))
                t = {"id": str(1_000_000_000 + i), "author_id": author["id"],
                     "created_at": at, "conversation_id": str(1_000_000_000 + i),
                     "lang": "en", "text": "A spring post about the sale #SpringSale "
                                           "https://t.co/abcdefgh",
                     "public_metrics": {"retweet_count": rng.randint(0, 50),
                                        "reply_count": rng.randint(0, 5),
                                        "like_count": rng.randint(0, 200),
                                        "quote_count": rng.randint(0, 3),
                                        "impression_count": rng.randint(100, 10_000)},
                     "entities": {"hashtags": [{"start": 28, "end": 39, "tag": "SpringSale"}]}}
                roll = rng.random()
                if originals and roll > 0.2:
                    ref = originals[rng.randrange(max(0, len(originals) - 2000),
                                                  len(originals))]
                    kind = "retweeted" if roll < 0.9 else "quoted"
                    t["referenced_tweets"] = [{"type": kind, "id": ref["id"]}]
                    refs[ref["id"]] = ref
                else:
                    originals.append(t)
                data.append(t)
            authors = {t["author_id"] for t in data} | {t["author_id"] for t in refs.values()}
            page = {"data": data,
                    "includes": {"users": [users[int(a) - 10_000] for a in authors],
                                 "tweets": list(refs.values())},
                    "meta": {"result_count": len(data)},
                    "__twarc": {"url": "https://api.twitter.com/2/tweets/search/all?query=x",
                                "version": "2.14.0",
                                "retrieved_at": "2026-04-01T00:00:00+00:00"}}
            fh.write(orjson.dumps(page) + b"\n")


def side_reach(data: Path, out: Path) -> dict:
    from etl.load import load
    from etl.sources import extract
    t0 = time.perf_counter()
    ext = extract(str(data))
    t_read = time.perf_counter() - t0
    report = load(ext, out)
    return {"seconds": time.perf_counter() - t0, "read_seconds": t_read,
            "rows": {t: c.accepted for t, c in report.counts.items()}}


def side_duckdb(data: Path, out: Path) -> dict:
    import duckdb
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_json('{data}', format = 'newline_delimited', "
                f"maximum_object_size = 268435456)) TO '{out / 'pages.parquet'}' "
                "(FORMAT parquet, COMPRESSION zstd)")
    pages = con.execute(f"SELECT count(*) FROM '{out / 'pages.parquet'}'").fetchone()[0]
    return {"seconds": time.perf_counter() - t0, "rows": {"pages": pages}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", choices=("reach", "duckdb"))
    ap.add_argument("--tweets", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path, default=Path(".bench/twarc"))
    ap.add_argument("--out", type=Path, default=Path(".bench/twarc_out"))
    a = ap.parse_args()
    data = a.data / f"search-{a.tweets}.jsonl"
    if a.side:
        out = a.out / a.side
        shutil.rmtree(out, ignore_errors=True)
        result = side_reach(data, out) if a.side == "reach" else side_duckdb(data, out)
        print(json.dumps(result))
        return
    if not data.exists():
        print(f"generating {a.tweets:,} tweets of twarc2 pages into {data} ...")
        generate(data, a.tweets)
    size = data.stat().st_size
    reach = run_side(Path(__file__), "reach", "--tweets", str(a.tweets), "--data", str(a.data),
                     "--out", str(a.out))
    duck = run_side(Path(__file__), "duckdb", "--tweets", str(a.tweets), "--data",
                    str(a.data), "--out", str(a.out))
    print(f"\n{a.tweets:,} tweets, {size / 1e6:,.0f} MB of JSON lines")
    print(f"{'':10}{'seconds':>10}{'peak MB':>10}")
    for name, r in (("reach", reach), ("duckdb", duck)):
        print(f"{name:10}{r['seconds']:>10.1f}{r['peak_rss_mb']:>10,.0f}")
    print(f"reach reads and maps in {reach['read_seconds']:.1f} s; loads "
          f"{reach['rows']}")
    print(f"ratio reach / duckdb: {reach['seconds'] / duck['seconds']:.2f}x (target 2x); "
          f"reach peak memory {reach['peak_rss_mb'] / (size / 1e6):.2f}x the file's size")


if __name__ == "__main__":
    main()
