"""Entry point for spark-submit: the Spark engine's `reach compute` on a cluster.

    spark-submit --master yarn --conf spark.executor.memory=8g \
        "$(python -c 'import reach_cli.spark_job as j; print(j.__file__)')" \
        --lake s3a://bucket/reach-lake

Arguments are those of `reach compute` (``--engine spark`` is implied); the master and
configuration come from spark-submit.
"""

from __future__ import annotations

import sys

from reach_cli.main import main

if __name__ == "__main__":
    sys.exit(main(["compute", "--engine", "spark", *sys.argv[1:]]))
