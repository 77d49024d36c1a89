"""Splink's Spark backend: the same model and thresholds as DuckDB, for a national
linkage that outgrows one machine.

``local_session()`` starts Spark in this process (``local[2]`` by default), with
Splink's similarity functions (a Scala jar shipped inside Splink) on its class
path. On a cluster, set ``CRADLE_SPARK_MASTER`` (``spark://host:7077``,
``yarn``, ``k8s://...``) or pass your own session to ``link(..., backend="spark",
spark=session)``; the session must have Splink's jar in ``spark.jars`` (README).
"""

from __future__ import annotations

import os


def similarity_jar() -> str:
    from splink.internals.spark.jar_location import similarity_jar_location

    return similarity_jar_location()


def local_session(master: str | None = None, app_name: str = "cradle-linkage"):
    """A Spark session for linkage; needs Java 17 (``scripts/java.sh`` installs Debian's)."""
    from pyspark.sql import SparkSession

    master = master or os.environ.get("CRADLE_SPARK_MASTER", "local[2]")
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.jars", similarity_jar())
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", os.environ.get("CRADLE_SPARK_PARTITIONS", "8"))
        .config("spark.default.parallelism", os.environ.get("CRADLE_SPARK_PARTITIONS", "8"))
        .config("spark.driver.memory", os.environ.get("CRADLE_SPARK_DRIVER_MEMORY", "2g"))
        .config("spark.sql.ansi.enabled", "false")
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(
        os.environ.get("CRADLE_SPARK_CHECKPOINTS", "/tmp/cradle-spark-checkpoints")
    )
    return session
