"""What the decisions ledger records, and the attribution rule: a triggered or reported
decision's outcome (LedgerEntry) and a conversion linked to the decision before it.

The storage layout is in microtarget.aws.ledger; nothing here knows where entries are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from microtarget.clock import DAY_MS, to_ms

if TYPE_CHECKING:  # the event models cost ~15 ms to build: only code that parses events loads them
    from microtarget.events import Event

RETENTION_DAYS = 180
EXPOSED = ("sent", "holdout")  # what a conversion can be attributed to
MAY_HAVE_SENT = ("sent", "sending", "uncertain")  # what frequency caps count, and no retry sends again


@dataclass(slots=True)
class LedgerEntry:
    pid: str
    decision_id: str
    at_ms: int
    outcome: str
    code: str = ""  # the reason's category: sent, consent, cap, holdout, quiet_hours, condition_gone …
    reason: str = ""
    trigger: str = ""
    channel: str = ""
    offer_id: str = ""
    message_id: str = ""
    experiments: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)  # scores, model versions, campaigns version
    source: str = "trigger"  # or "api": reported by a campaign tool (POST /v1/exposures)

    @property
    def key(self) -> str:
        """One item per triggered decision; per offer of an API decision (a tool may send several)."""
        return (
            f"d#{self.decision_id}"
            if self.source == "trigger"
            else f"d#{self.decision_id}#{self.offer_id or 'holdout'}"
        )

    def summary(self) -> dict[str, str]:
        """What the handler logs and the idempotency record keeps (no scores, no personal data)."""
        keys = ("decision_id", "outcome", "code", "reason", "offer_id", "message_id")
        return {key: str(getattr(self, key)) for key in keys}


@dataclass(slots=True)
class Conversion:
    pid: str
    event_id_digest: str
    at_ms: int
    event_type: str
    decision_id: str
    offer_id: str
    outcome: str  # of the decision: sent (treated) or holdout (control)
    experiments: dict[str, str]
    revenue_cents: int


def preceding(decisions: list[dict[str, Any]], event: Event, window_days: int) -> dict[str, Any] | None:
    """The exposure a conversion is credited to: the decision it names, else the latest exposure
    (of its offer, when it names one) within `window_days` before it."""
    ts = to_ms(event.occurred_at)
    wanted = getattr(event.properties, "decision_id", None)
    offer = getattr(event.properties, "offer_id", None)
    if wanted:  # the redemption names its decision (the link in the message carries it), and maybe its offer
        named = [d for d in decisions if d["decision_id"] == wanted]
        if offer:
            named = [d for d in named if d.get("offer_id") == offer] or named
        return max(named, key=lambda d: int(d["at"]), default=None)
    window = [d for d in decisions if ts - window_days * DAY_MS <= int(d["at"]) <= ts]
    window = [d for d in window if offer is None or d.get("offer_id") == offer] or ([] if offer else window)
    return max(window, key=lambda d: int(d["at"]), default=None)
