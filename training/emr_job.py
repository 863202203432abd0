"""The EMR Serverless job's entry point: spark-submit runs this file with one CLI command's
arguments (`train --engine spark …`, `score --engine spark …`, `audience --engine spark …`); the
Spark session then comes from the cluster (training.spark_engine.session)."""

from __future__ import annotations

import sys

from training.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
