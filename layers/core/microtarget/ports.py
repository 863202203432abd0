"""The ports: what the services need from the outside world, as protocols. The AWS adapters in
microtarget.aws implement them; tests/helpers/fakes.py has in-memory ones for unit tests.

A service takes these types, never an adapter class, so it can be built and tested without
boto3 and the adapters can change (a table layout, a provider) without touching a service.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from microtarget.errors import PermanentError

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

    from microtarget.campaigns import Campaigns
    from microtarget.catalog import Catalog
    from microtarget.contacts import Contact
    from microtarget.events import Event
    from microtarget.outcomes import Conversion, LedgerEntry
    from microtarget.profile import Profile
    from microtarget.recommendations import Recommender
    from microtarget.rendering import Rendered
    from microtarget.rules import SentOffer
    from microtarget.scoring import LoadedModel, ModelStatus
    from microtarget.triggers import TriggerMessage


class VersionConflict(Exception):
    """Someone else wrote the profile since it was read."""


class ProfileStore(Protocol):
    """Profiles by pid."""

    def get_many(self, pids: Iterable[str]) -> dict[str, Profile]: ...

    def put(self, profile: Profile) -> None:
        """Write `profile` as version+1, only if the stored version is still `profile.version`."""

    def put_many(self, profiles: list[Profile]) -> dict[str, Exception]:
        """`put` each; return the failures by pid."""

    def put_merged(self, profile: Profile, aliases: list[Profile]) -> None:
        """`put` the profile and the aliases of the anonymous profiles merged into it, all or none."""


@dataclass(slots=True, frozen=True)
class Rejection:
    reason: PermanentError
    data: bytes
    source: dict[str, str]  # sequence_number, shard/event source, arrival time: never the partition key
    pid: str | None = None  # whose record it is, where that can be read: what an erasure looks for

    def message(self, rejected_at: datetime) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "reason": self.reason.as_reason(),
            "source": self.source,
            "rejected_at": rejected_at.isoformat(),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "data_base64": base64.b64encode(self.data).decode(),
        }

    def key(self) -> str:
        """The record's identity: where it was read from (a replay reads the same), else its bytes."""
        where = f"{self.source.get('event_source_arn', '')}|{self.source.get('sequence_number', '')}"
        return (
            "rejected#"
            + hashlib.sha256(where.encode() if self.source.get("sequence_number") else self.data).hexdigest()
        )


class DeadLetterSink(Protocol):
    def send(self, rejections: list[Rejection]) -> int:
        """Store the rejections; return how many were stored before (a replay), which it skips."""
        ...


class Serving(Protocol):
    """The campaigns file and the promoted models, as of now (refreshed behind the port)."""

    environment: str  # which promoted versions: prod, staging …
    problems: dict[str, str]

    def campaigns(self) -> Campaigns | None: ...

    def model_status(self) -> dict[str, ModelStatus]: ...

    def models(self) -> dict[str, LoadedModel]: ...

    def recommender(self) -> Recommender | None: ...

    def catalog(self) -> Catalog | None:
        """The product catalog: names, images, prices, links and availability (None: ids only)."""

    def expire(self) -> None:
        """Re-read on the next call, whatever the refresh interval says."""


class DecisionLog(Protocol):
    """The decisions ledger: outcomes, what was sent (for caps) and conversions."""

    retention_days: int  # how long its items are kept (TTL)

    def record(self, entry: LedgerEntry) -> None: ...

    def record_many(self, entries: Sequence[LedgerEntry]) -> None: ...

    def entries(self, pid: str) -> list[dict[str, Any]]: ...

    def sends(self, pid: str, since_ms: int, excluding: str = "") -> list[SentOffer]: ...

    def sends_many(self, pids: Sequence[str], since_ms: int) -> dict[str, list[SentOffer]]: ...

    def attribute(self, pid: str, events: Iterable[Event], window_days: int) -> list[Conversion]: ...


class SendClaims(Protocol):
    """At most one send per decision, and one customer's sends one at a time."""

    def claim_send(self, entry: LedgerEntry) -> dict[str, Any] | None:
        """Record `sending`; the earlier entry instead if one may have sent already."""

    def earlier_send(self, entry: LedgerEntry) -> dict[str, Any] | None: ...

    def mark_uncertain(self, entry: LedgerEntry, code: str, reason: str) -> None: ...

    def lock(self, pid: str, owner: str, now_ms: int, hold_ms: int) -> bool: ...

    def unlock(self, pid: str, owner: str) -> None: ...


class TriggerSink(Protocol):
    def send(self, messages: Sequence[TriggerMessage], now_ms: int) -> set[str]:
        """Deliver each message when due; the trigger ids that could not be handed over."""
        ...


class Sender(Protocol):
    def send(self, channel: str, address: str | None, message: Rendered, detail: dict[str, Any]) -> str:
        """The provider's message id; PermanentError if refused, SendUnconfirmed if it may have gone."""
        ...


class ContactDirectory(Protocol):
    def get(self, pid: str) -> Contact | None: ...

    def put(self, pid: str, contact: Contact) -> None: ...

    def erase(self, pid: str) -> int:
        """Delete the customer's details; how many items went (0 or 1)."""
        ...


class TemplateSource(Protocol):
    def environment(self) -> SandboxedEnvironment: ...

    def expire(self) -> None: ...
