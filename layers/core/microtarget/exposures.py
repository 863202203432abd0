"""What campaign tools report doing with the API's decisions, checked and turned into ledger entries.

A tool that sends or shows an offer it was given reports it (POST /v1/exposures): the send then
counts toward frequency caps in the API and in dispatch, and a later purchase is attributed to it.
A tool that would have reached a customer whom the decision held out (a control arm) reports the
holdout: that exposure is the control side of the lift comparison, as dispatch records its own.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from microtarget.campaigns import Campaigns
from microtarget.clock import DAY_MS
from microtarget.decisions import arm_of
from microtarget.errors import PermanentError
from microtarget.outcomes import RETENTION_DAYS, LedgerEntry

CLOCK_SKEW_MS = 5 * 60_000  # a report from a tool whose clock runs a little ahead is still accepted
_LOWER_HEX = re.compile(r"[0-9a-f]{1,16}")
DECISION_VALID_DAYS = 7  # a tool reports what it did with a decision within a week of asking


def issued_decision_id(base: str, pid: str, issued_ms: int, seal: Callable[[str], str]) -> str:
    """The id an API decision carries: its own id, when it was issued and a MAC binding both to
    the customer, so a report can be checked without storing every decision the API gives."""
    return f"{base}.{issued_ms:x}.{seal(f'{pid}|{base}|{issued_ms}')}"


def check_issued(exposure: Exposure, now_ms: int, sealers: Sequence[tuple[str, Callable[[str], str]]]) -> None:
    """A PermanentError unless the decision was issued by this stack to this customer, lately.
    `sealers`: the customer's (pid, seal) under each key version (identity.Pseudonymizer.sealers),
    so a decision issued before a key rotation is still recognised."""
    base, _, rest = exposure.decision_id.partition(".")
    issued_hex, _, mac = rest.partition(".")
    issued_ms = int(issued_hex, 16) if _LOWER_HEX.fullmatch(issued_hex) else -1
    canonical = issued_ms >= 0 and f"{issued_ms:x}" == issued_hex  # one spelling: one ledger item per report
    sealed = canonical and any(hmac.compare_digest(mac, seal(f"{pid}|{base}|{issued_ms}")) for pid, seal in sealers)
    if not sealed:
        raise PermanentError("unknown_decision", "was not issued to this customer", "decision_id")
    if issued_ms < now_ms - DECISION_VALID_DAYS * DAY_MS:
        raise PermanentError("decision_expired", f"was issued over {DECISION_VALID_DAYS} days ago", "decision_id")
    if exposure.at_ms < issued_ms - CLOCK_SKEW_MS:
        raise PermanentError("before_decision", "is earlier than the decision", "exposed_at")


@dataclass(frozen=True, slots=True)
class Exposure:
    pid: str
    decision_id: str
    channel: str
    offer_id: str | None  # None: the customer was held out
    at_ms: int


def ledger_entry(
    exposure: Exposure, campaigns: Campaigns, now_ms: int, retention_days: int = RETENTION_DAYS
) -> LedgerEntry:
    """The ledger entry for one report, or a PermanentError naming the field at fault."""
    if exposure.at_ms > now_ms + CLOCK_SKEW_MS:
        raise PermanentError("in_future", "is later than now", "exposed_at")
    if exposure.at_ms < now_ms - retention_days * DAY_MS:
        raise PermanentError("too_old", f"is older than the ledger keeps ({retention_days} days)", "exposed_at")
    arms = {experiment.id: arm_of(experiment, exposure.pid) for experiment in campaigns.experiments}
    if exposure.offer_id is None:
        held = {e.id: arms[e.id].name for e in campaigns.experiments if arms[e.id].control}
        if not held:
            raise PermanentError("not_held_out", "is required: this customer is in no control arm", "offer_id")
        return _entry(exposure, "holdout", held, campaigns)
    offer = next((o for o in campaigns.offers if o.id == exposure.offer_id), None)
    if offer is None:
        raise PermanentError(
            "unknown_offer", f"{exposure.offer_id} is not in campaigns {campaigns.version}", "offer_id"
        )
    if exposure.channel not in offer.channels:
        raise PermanentError("wrong_channel", f"{offer.id} is not offered on {exposure.channel}", "channel")
    covering = [e for e in campaigns.experiments if offer.id in e.offers]
    for experiment in covering:
        arm = arms[experiment.id]
        if arm.withholds(offer.id):
            why = f"{offer.id} is withheld from this customer (experiment {experiment.id}, arm {arm.name})"
            raise PermanentError("withheld", why, "offer_id")
    return _entry(exposure, "sent", {e.id: arms[e.id].name for e in covering}, campaigns)


def _entry(exposure: Exposure, outcome: str, arms: dict[str, str], campaigns: Campaigns) -> LedgerEntry:
    return LedgerEntry(
        exposure.pid, exposure.decision_id, exposure.at_ms, outcome, code=outcome,
        reason="reported by a campaign tool", channel=exposure.channel, offer_id=exposure.offer_id or "",
        experiments=arms, detail={"campaigns": campaigns.version}, source="api",
    )  # fmt: skip
