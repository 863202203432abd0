"""Time as the domain sees it: aware UTC datetimes at the edges, epoch milliseconds inside.

Every service takes a `Clock` so tests, the demo and the bench run at a fixed moment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

Clock = Callable[[], datetime]


_emulated: Clock | None = None


def utc_now() -> datetime:
    """The system's time, or the emulated one while a local AWS sets it (see `emulate`)."""
    return datetime.now(UTC) if _emulated is None else _emulated()


def emulate(source: Clock | None) -> None:
    """For the local AWS emulation only (local.clock.LocalClock.install): the time the functions
    see, as the machine's clock would be on Lambda; None gives back the system's. Services take
    a `Clock` of their own in unit tests; this is what the deployed handlers' roots use."""
    global _emulated
    _emulated = source


def monotonic() -> float:
    """Seconds for measuring how long something has been held (cache ages): the system's monotonic
    clock, or the emulated time, so a local clock that tests advance ages caches too."""
    return time.monotonic() if _emulated is None else _emulated().timestamp()


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
