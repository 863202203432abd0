"""A progress line: redrawn in place on a terminal, a line per quarter when piped (CI logs)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, total: int, rate: bool = True) -> None:
        """`rate` False: a count of steps whose speed means nothing (simulated hours)."""
        self.label, self.total, self.done, self._rate = label, max(1, total), 0, rate
        self._tty = sys.stdout.isatty()
        self._started = time.perf_counter()
        self._next_quarter = 1

    def to(self, done: int) -> None:
        self.done = done
        rate = done / max(1e-9, time.perf_counter() - self._started)
        speed = f", {rate:,.0f}/s" if self._rate else ""
        text = f"{self.label:<12} {done:>9,}/{self.total:,} ({100 * done / self.total:5.1f} %{speed})"
        if self._tty:
            print("\r" + text, end="", flush=True)
        elif done * 4 >= self._next_quarter * self.total:
            print(text, flush=True)
            self._next_quarter = done * 4 // self.total + 1

    def close(self) -> None:
        if self._tty:
            print(flush=True)
