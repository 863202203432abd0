"""Pseudonymized customer ids: HMAC-SHA256 under a list of keys kept in Secrets Manager.

The raw id exists only while an event is parsed; profiles, logs and metrics see the pid. Keys
are rotated by adding one to the list (oldest first); a pid names the version that made it:

    version 1   c_<HMAC(k1, raw id)[:32 hex]>
    version n   c<n>_<HMAC(kn, the version n-1 pid)[:32 hex]>

Each version's pid is made from the previous one, so an older pid found in a store, a message or
the data lake is carried forward (`forward`) without the raw id, which nothing keeps: the rekey
job moves every store to the newest version that way, and a customer is never split in two. A
leaked old key no longer links raw ids to what is stored, once the job has run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Sequence
from functools import lru_cache, partial

from microtarget import clock
from microtarget.errors import ConfigurationError

PID_PREFIX = "c_"
MIN_KEY_BYTES = 16
_PID = r"c([2-9]|[1-9][0-9]+)?_[0-9a-f]{32}"  # c_ is version 1, c<n>_ version n
PID_PATTERN = re.compile(rf"^{_PID}$")
ANY_PID = re.compile(rf"\b{_PID}\b")  # a pid anywhere in a text (a lake line, a ledger attribute)
SEAL_LABEL = b"microtarget decision ids v1"
RETRY_AFTER_FAILED_READ_S = 30.0

Keys = Sequence[str | bytes]


def pid_version(customer_id: str) -> int | None:
    """The key version a pid was made with; None for anything that is not a pid."""
    found = PID_PATTERN.match(customer_id)
    return None if found is None else int(found.group(1) or 1)


def is_pid(customer_id: str) -> bool:
    """Whether an id read from the lake is a pid already (every id the archive writes is)."""
    return pid_version(customer_id) is not None


def parse_keys(secret: str) -> list[str]:
    """The secret's keys, oldest first: a plain string is one key (version 1, as generated at
    deployment); after a rotation the secret is JSON, {"keys": ["<k1>", "<k2>", ...]}."""
    if not secret.lstrip().startswith("{"):
        return [secret]
    try:
        keys = json.loads(secret).get("keys")
    except (ValueError, AttributeError):
        return [secret]  # a generated key that happens to start with a brace
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise ConfigurationError('the pseudonymization secret must be a key or {"keys": [<key>, ...]}, oldest first')
    return keys


class Pseudonymizer:
    def __init__(
        self,
        keys: str | bytes | Keys,
        reload: Callable[[], Keys] | None = None,
        max_age_s: float = 300.0,
        monotonic: Callable[[], float] = clock.monotonic,
    ) -> None:
        """`reload`: reads the keys again once `max_age_s` has passed since they were read (a
        running function then takes up a rotation within that time); None: keys for good."""
        self._reload, self._max_age, self._monotonic = reload, max_age_s, monotonic
        self._use([keys] if isinstance(keys, str | bytes) else list(keys))

    @property
    def version(self) -> int:
        """The newest key's version: the one every new pid is made with."""
        return len(self._keys)

    def _use(self, keys: Keys) -> None:
        raw = [key.encode() if isinstance(key, str) else key for key in keys]
        if not raw or any(len(key) < MIN_KEY_BYTES for key in raw):
            raise ConfigurationError(f"pseudonymization keys must be at least {MIN_KEY_BYTES} bytes")
        self._keys = raw
        # the secret as the message: no customer id can produce these keys
        self._seal_keys = [hmac.new(SEAL_LABEL, key, hashlib.sha256).digest() for key in raw]
        self._cached = lru_cache(maxsize=65_536)(self._pid)
        self._next_read = self._monotonic() + self._max_age

    def _fresh(self) -> None:
        if self._reload is None or self._monotonic() < self._next_read:
            return
        try:
            keys = [key.encode() if isinstance(key, str) else key for key in self._reload()]
        except ConfigurationError:  # the secret cannot be read just now: the keys held are still valid
            self._next_read = self._monotonic() + RETRY_AFTER_FAILED_READ_S
            return
        if keys == self._keys:
            self._next_read = self._monotonic() + self._max_age
        else:
            self._use(keys)

    def expire(self) -> None:
        """Read the keys again before the next pid (after a SnapStart restore: the snapshot's keys
        may predate a rotation)."""
        self._next_read = float("-inf")

    def pid(self, customer_id: str) -> str:
        self._fresh()
        return self._cached(customer_id)

    def pids(self, customer_id: str) -> list[str]:
        """The customer's pid under every key version, oldest first (erasure looks for them all)."""
        self._fresh()
        made = [PID_PREFIX + _mac(self._keys[0], customer_id)]
        for version in range(2, self.version + 1):
            made.append(self._next(made[-1], version))
        return made

    def forward(self, pid: str) -> str:
        """The newest version of a pid made with an older key (a pid of this version: itself)."""
        self._fresh()
        version = pid_version(pid)
        if version is None:
            raise ValueError(f"{pid!r} is not a pid")
        if version > self.version:
            raise ConfigurationError(f"a pid of key version {version}: this function knows {self.version} keys")
        for later in range(version + 1, self.version + 1):
            pid = self._next(pid, later)
        return pid

    def lake_pid(self, customer_id: str) -> str:
        """The pid of an id read from the data lake (a pid already, of any version) or an older raw
        source: the stream's ids always go through `pid`, so no sender can name a profile by its pid."""
        return self.forward(customer_id) if is_pid(customer_id) else self.pid(customer_id)

    def seal(self, text: str) -> str:
        """A MAC of `text` under a key derived from the newest key (never the pid key itself)."""
        self._fresh()
        return _seal(self._seal_keys[-1], text)

    def sealers(self, customer_id: str) -> list[tuple[str, Callable[[str], str]]]:
        """(the customer's pid, the seal) of every key version, newest first: what an id sealed
        before a rotation is checked against."""
        pids = self.pids(customer_id)
        return [(pids[v], partial(_seal, self._seal_keys[v])) for v in reversed(range(self.version))]

    def _pid(self, customer_id: str) -> str:
        pid = PID_PREFIX + _mac(self._keys[0], customer_id)
        for version in range(2, self.version + 1):
            pid = self._next(pid, version)
        return pid

    def _next(self, pid: str, version: int) -> str:
        return f"c{version}_" + _mac(self._keys[version - 1], pid)


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def _seal(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:20]
