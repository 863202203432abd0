"""The moment every benchmark's traffic ends: figures never depend on the hour or day they run."""

from datetime import UTC, datetime

BENCH_END = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
