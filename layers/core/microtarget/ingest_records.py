"""What one ingest batch is made of and what it came to: the records off the stream, each one
decoded, each customer's result, and the batch's report (microtarget.ingest)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from microtarget.events import Event
from microtarget.ports import Rejection
from microtarget.profile import Profile


@dataclass(slots=True)
class RawRecord:
    data: bytes
    sequence_number: str
    source: dict[str, str]


@dataclass(slots=True)
class Decoded:
    record: RawRecord
    pid: str | None = None
    event: Event | None = None
    rejection: Rejection | None = None
    merge_from: str | None = None  # the anonymous pid this record identifies (microtarget.merge)


@dataclass(slots=True)
class BatchReport:
    accepted: int = 0
    duplicates: int = 0
    erased: int = 0  # events of erased customers from before their erasure: dropped
    rejected: Counter[str] = field(default_factory=Counter)
    profiles_written: int = 0
    customers: int = 0
    failed_sequence_numbers: set[str] = field(default_factory=set)
    triggers: Counter[str] = field(default_factory=Counter)  # fired, by kind
    stale_triggers: int = 0
    conversions: int = 0
    compacted: int = 0  # profiles whose bounded detail overflowed and was folded or dropped
    rejected_before: int = 0  # of the rejected, those already dead-lettered by an earlier delivery
    failures: list[Failure] = field(default_factory=list)  # why records are failed for retry


@dataclass(slots=True, frozen=True)
class Failure:
    """Records failed for retry: the cause, the customer's pid (never a raw id), their sequence numbers."""

    cause: str
    customer_pid: str | None
    sequence_numbers: list[str]


@dataclass(slots=True, frozen=True)
class CustomerResult:
    profile: Profile
    applied: list[Event]
    duplicates: int
    late: list[Rejection]
    applied_ms: list[int]
    churn_before: Any = None
    compacted: bool = False
    erased: int = 0
