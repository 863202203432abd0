"""Pseudonymized customer ids: HMAC-SHA256 under a secret kept in Secrets Manager.

The raw id exists only while an event is parsed; profiles, logs and metrics see the pid.
The key must not change once profiles exist (every pid would change with it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

from microtarget.errors import ConfigurationError

PID_PREFIX = "c_"
MIN_KEY_BYTES = 16
PID_PATTERN = re.compile(rf"^{PID_PREFIX}[0-9a-f]{{32}}$")


def is_pid(customer_id: str) -> bool:
    """Whether an id read from the lake is a pid already (every id the archive writes is)."""
    return PID_PATTERN.match(customer_id) is not None


class Pseudonymizer:
    def __init__(self, key: str | bytes) -> None:
        raw = key.encode() if isinstance(key, str) else key
        if len(raw) < MIN_KEY_BYTES:
            raise ConfigurationError(f"pseudonymization key must be at least {MIN_KEY_BYTES} bytes")
        self._key = raw
        self.pid = lru_cache(maxsize=65_536)(self._pid)

    def seal(self, text: str) -> str:
        """A MAC of `text` under a key derived from the secret (never the pid key itself)."""
        if not hasattr(self, "_seal_key"):  # the secret as the message: no customer id can produce this key
            self._seal_key = hmac.new(b"microtarget decision ids v1", self._key, hashlib.sha256).digest()
        return hmac.new(self._seal_key, text.encode(), hashlib.sha256).hexdigest()[:20]

    def lake_pid(self, customer_id: str) -> str:
        """The pid of an id read from the data lake (a pid already) or an older raw source: the
        stream's ids always go through `pid`, so no sender can name a profile by its pid."""
        return customer_id if is_pid(customer_id) else self.pid(customer_id)

    def _pid(self, customer_id: str) -> str:
        mac = hmac.new(self._key, customer_id.encode(), hashlib.sha256).hexdigest()
        return PID_PREFIX + mac[:32]
