"""A clock the local AWS and the handlers share, that tests and the demo advance instead of
sleeping: SQS message delays and visibility timeouts (moto, in this process), the scheduler
emulation and the services' `now` all read it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import moto.sqs.models as sqs_models
from microtarget import clock
from moto.core.utils import unix_time, unix_time_millis

_installed: LocalClock | None = None  # the clock the functions read now (None: the system's)


class LocalClock:
    def __init__(self, start: datetime | None = None) -> None:
        """`start`: the moment the clock reads now (tests and the demo pass a fixed one, so
        nothing they do depends on the hour they run); None: the wall clock. It then runs."""
        self.offset = 0.0 if start is None else (start - datetime.now(UTC)).total_seconds()

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def advance(self, **delta: float) -> datetime:
        """advance(minutes=15): everything due in the next 15 minutes becomes due now."""
        self.offset += timedelta(**delta).total_seconds()
        return self.now()

    def install(self) -> LocalClock:
        """Make moto's SQS (delays, visibility) and the functions' time follow this clock."""
        global _installed
        _installed = self
        clock.emulate(self.now)
        sqs_models.unix_time = lambda dt=None: unix_time(dt) + (0 if dt else self.offset)
        sqs_models.unix_time_millis = lambda dt=None: unix_time_millis(dt) + (0 if dt else self.offset * 1000)
        return self

    def __enter__(self) -> LocalClock:
        return self.install()

    def __exit__(self, *_exc: object) -> None:
        self.uninstall()  # a failure on the way must not leave the next test reading this clock

    @contextlib.contextmanager
    def applied(self) -> Iterator[LocalClock]:
        """This clock for the time of a `with` (one function call), then the one installed before:
        a fixture's server keeps its own moment whatever clock the test around it installs."""
        before = _installed
        self.install()
        try:
            yield self
        finally:
            before.install() if before else self.uninstall()

    def uninstall(self) -> None:
        global _installed
        _installed = None
        clock.emulate(None)
        sqs_models.unix_time, sqs_models.unix_time_millis = unix_time, unix_time_millis
