"""Time as the domain sees it: aware UTC datetimes at the edges, epoch milliseconds inside.

Every service takes a `Clock` so tests, the demo and the bench run at a fixed moment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
