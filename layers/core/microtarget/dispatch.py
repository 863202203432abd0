"""Dispatch one due trigger: re-check it, respect consent, caps and quiet hours, decide the
offer, render it and send it, recording every outcome in the ledger. No Lambda types here.

Outcomes: sent, holdout (control arm: exposure recorded, nothing sent), suppressed (consent,
cap, not eligible, no address), cancelled (the moment passed: purchased, cart changed,
expired), deferred (quiet hours: re-queued for their end), failed (the provider refused it,
or could not be reached: a retry may still send it), uncertain (a crash during the send).
At most one message per trigger: the send is claimed in the ledger before the provider is
called (SendGuard), so no redelivery sends again, whatever crashed where; the handler's
idempotency only short-cuts repeats. Caps are checked and the message sent under the
customer's send lock.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from microtarget.campaigns import Campaigns, QuietHours
from microtarget.catalog import Catalog, unknown
from microtarget.clock import DAY_MS, Clock, to_ms, utc_now
from microtarget.decisions import Decision, decide
from microtarget.errors import PermanentError, RetryableError, SendUnconfirmed
from microtarget.features import pre_exposure
from microtarget.merge import MAX_ALIAS_HOPS
from microtarget.outcomes import LedgerEntry
from microtarget.ports import (
    ContactDirectory,
    DecisionLog,
    ProfileStore,
    SendClaims,
    Sender,
    Serving,
    TemplateSource,
    TriggerSink,
)
from microtarget.profile import Profile
from microtarget.recommendations import recommend_for
from microtarget.rendering import render
from microtarget.rules import Reason
from microtarget.triggers import TriggerMessage, still_holds

WHAT_IS_SHOWN = {"post_purchase": "your order", "repeat_view": "the product you looked at"}  # what picks go with
LOCK_MS = 60_000  # the send lock lapses after twice the function's timeout if its holder crashed


class DispatchService:
    def __init__(
        self, state: Serving, templates: TemplateSource, profiles: ProfileStore, contacts: ContactDirectory,
        ledger: DecisionLog, channels: Sender, requeue: TriggerSink, guard: SendClaims,
        clock: Clock = utc_now,
    ) -> None:  # fmt: skip
        self.state, self.templates, self.profiles, self.contacts = state, templates, profiles, contacts
        self.ledger, self.channels, self.requeue, self.guard, self.clock = ledger, channels, requeue, guard, clock

    def handle(self, message: TriggerMessage) -> LedgerEntry:
        """Decide and send under the customer's lock; another dispatch holding it is a retry. A
        message naming an id merged since it was queued (a login, a key rotation) goes to the
        customer it became."""
        profile = self.profiles.get_many([message.pid]).get(message.pid)
        for _hop in range(MAX_ALIAS_HOPS):
            if profile is None or profile.alias_of is None:
                break
            message = message.model_copy(update={"pid": profile.alias_of})
            profile = self.profiles.get_many([message.pid]).get(message.pid)
        owner = f"{message.idempotency_key}#{uuid.uuid4().hex}"
        if not self.guard.lock(message.pid, owner, to_ms(self.clock()), LOCK_MS):
            raise RetryableError("another message for this customer is being dispatched: retried after it")
        try:
            return self._handle(message, profile)
        finally:
            self.guard.unlock(message.pid, owner)

    def _handle(self, message: TriggerMessage, profile: Profile | None) -> LedgerEntry:
        now = self.clock()
        entry = LedgerEntry(
            message.pid, message.idempotency_key, to_ms(now), "", trigger=message.rule, channel=message.channel
        )
        if profile is not None and message.moment_ms < (profile.erased_before or 0):
            entry.outcome, entry.code, entry.reason = "cancelled", "erased", "the customer was erased since"
            return entry  # not recorded: the ledger keeps nothing of an erased customer's past
        earlier = self.guard.earlier_send(entry)  # first: no other outcome may overwrite a send (or a maybe)
        if earlier is not None:
            return self._after_earlier(entry, earlier)
        campaigns = self.state.campaigns()
        if campaigns is None:
            raise RetryableError("no valid campaigns file has been loaded yet")
        rule = campaigns.trigger(message.rule)
        why_not = _gone(message, entry.at_ms, rule is None, profile)
        if why_not:
            return self._close(entry, "cancelled", *why_not)
        assert rule is not None and profile is not None
        contact = self.contacts.get(message.pid) if message.channel != "webhook" else None
        address = contact.address(message.channel) if contact else None
        if message.channel != "webhook" and address is None:
            return self._close(entry, "suppressed", "no_address", f"no {message.channel} address on file")
        hold = _quiet_until(campaigns.quiet_hours, contact.timezone if contact else None, now)
        if hold is not None and message.channel != "webhook":
            return self._defer(entry, message, hold)
        sent = self.ledger.sends(message.pid, entry.at_ms - 7 * DAY_MS, excluding=entry.decision_id)
        models = self.state.models()
        offers = campaigns.only(rule.offers)
        decision = decide(message.pid, profile, message.channel, now, offers, models, sent, 1, triggered=True)
        entry.experiments = decision.experiments
        entry.detail = {"scores": decision.scores, "models": decision.model_versions, "campaigns": campaigns.version,
                        "pre": pre_exposure(profile, entry.at_ms),  # CUPED's covariates
                        "orders_total": profile.orders if profile else 0}  # fmt: skip  # churn's population (monitoring)
        churn = decision.scores.get("churn_risk")
        if rule.kind == "churn_risk" and isinstance(churn, float) and rule.threshold and churn < rule.threshold:
            return self._close(entry, "cancelled", "recovered", f"churn risk back to {churn:.2f}")
        if not decision.offers:
            entry.offer_id = decision.withheld  # a holdout names the offer it held back: results per offer
            return self._close(entry, *_why_nothing(decision, rule.offers))
        choice = decision.offers[0]
        offer = campaigns.offer(choice.offer_id)
        entry.offer_id = offer.id
        context = self._context(message, profile, contact, offer.model_dump(), campaigns, entry, decision.segment)
        detail = {"decision_id": entry.decision_id, "pid": message.pid, "offer_id": offer.id, "offer_name": offer.name,
                  "trigger": message.rule, "recommended": [p["product_id"] for p in context["recommended"]],
                  "experiments": decision.experiments}  # fmt: skip
        try:
            rendered = render(self.templates.environment(), offer.template, message.channel, context)
        except PermanentError as error:  # never going to work: recorded, then dead-lettered by the handler
            self._close(entry, "failed", error.code, error.message)
            raise
        return self._send(entry, address, rendered, detail, "; ".join(choice.reasons))

    def _send(self, entry: LedgerEntry, address: str | None, rendered: Any, detail: dict, reason: str) -> LedgerEntry:
        """`sending` before the provider is called, `sent` with its message id only once it accepted."""
        earlier = self.guard.claim_send(entry)
        if earlier is not None:  # an earlier delivery sent it, or may have: never again
            return self._after_earlier(entry, earlier)
        try:
            entry.message_id = self.channels.send(entry.channel, address, rendered, detail)
        except PermanentError as error:  # refused: recorded, then dead-lettered by the handler
            self._close(entry, "failed", error.code, error.message)
            raise
        except SendUnconfirmed as error:  # it may have gone out: never again (caps count it)
            self.guard.mark_uncertain(entry, "send_unconfirmed", str(error))
            entry.outcome, entry.code, entry.reason = "uncertain", "send_unconfirmed", str(error)
            return entry
        except RetryableError as error:  # the provider said no, or was never reached: a retry may send it
            self._close(entry, "failed", "send_retrying", str(error))
            raise
        return self._close(entry, "sent", "sent", reason)

    def _after_earlier(self, entry: LedgerEntry, earlier: dict[str, Any]) -> LedgerEntry:
        if earlier["outcome"] == "sending":
            self.guard.mark_uncertain(entry, "crashed_during_send", "a delivery died during the send: not sent again")
            earlier = {**earlier, "outcome": "uncertain", "code": "crashed_during_send"}
        entry.outcome, entry.code = earlier["outcome"], earlier["code"]
        entry.reason, entry.message_id = earlier.get("reason", ""), earlier.get("message_id", "")
        return entry

    def _close(self, entry: LedgerEntry, outcome: str, code: str, reason: str) -> LedgerEntry:
        entry.outcome, entry.code, entry.reason = outcome, code, reason
        self.ledger.record(entry)
        return entry

    def _defer(self, entry: LedgerEntry, message: TriggerMessage, hold: datetime) -> LedgerEntry:
        due = to_ms(hold)
        if due > message.expires_ms:
            return self._close(entry, "cancelled", "expired", "quiet hours last past the message's expiry")
        later = message.model_copy(update={"due_ms": due, "deferrals": message.deferrals + 1})
        if self.requeue.send([later], entry.at_ms):
            raise RetryableError("could not re-queue a message held by quiet hours")
        return self._close(entry, "deferred", "quiet_hours", f"quiet hours: held until {hold.isoformat()}")

    def _context(
        self, message: TriggerMessage, profile: Profile, contact: Any, offer: dict, campaigns: Campaigns,
        entry: LedgerEntry, segment: str | None,
    ) -> dict[str, Any]:  # fmt: skip
        cart = profile.cart() if message.kind == "cart_abandonment" else {}
        items = [
            {"product_id": line.product_id, "quantity": line.quantity,
             "price": None if line.price_cents is None else line.price_cents / 100}
            for line in cart.values()
        ] or [{"product_id": product, "quantity": 1, "price": None} for product in message.products]  # fmt: skip
        recommender, catalog = self.state.recommender(), self.state.catalog()
        shown = [] if message.kind == "cart_abandonment" else [str(product) for product in message.products]
        if catalog:  # names, images, prices and links; an unavailable product is not shown
            items = [line for item in items if (line := _described(item, catalog)) is not None]
        items = [unknown(str(item["product_id"])) | item for item in items]  # every field a template may name
        picks = recommend_for(recommender, shown, profile, catalog.available if catalog else None,
                              what=WHAT_IS_SHOWN.get(message.kind, "it"), segment=segment,
                              bought_since=campaigns.recommendations.bought_since(entry.at_ms)) if recommender else []  # fmt: skip
        return {
            "first_name": contact.first_name if contact else None,
            "offer": offer,
            "items": items,
            "recommended": catalog.shown(picks) if catalog else [unknown(p) | {"reason": why} for p, why in picks],
            "decision_id": entry.decision_id,
            "links": {
                "offer": f"{campaigns.site_url}/offers/{offer['id']}?decision={entry.decision_id}",
                "unsubscribe": f"{campaigns.site_url}/preferences?channel={message.channel}",
            },
        }


def _described(item: dict[str, Any], catalog: Catalog) -> dict[str, Any] | None:
    """A cart line with the catalog's name, picture and link, at the price the customer saw: a
    product the catalog does not know yet is shown by its id, one it marks unavailable not at all."""
    product_id = str(item["product_id"])
    if product_id not in catalog.products:
        return item
    if not catalog.available(product_id):
        return None
    return catalog.details(product_id) | {k: v for k, v in item.items() if v is not None}


def _gone(message: TriggerMessage, now_ms: int, rule_removed: bool, profile: Profile | None) -> tuple[str, str] | None:
    if now_ms > message.expires_ms:
        return "expired", "the message could not go out before it expired"
    if rule_removed:
        return "rule_removed", f"trigger {message.rule!r} is no longer in the campaigns file"
    if profile is None:
        return "no_profile", "no profile (never seen, or erased)"
    why = still_holds(message, profile)
    return ("condition_gone", why) if why else None


def _why_nothing(decision: Decision, offers: list[str]) -> tuple[str, str, str]:
    reasons = [decision.suppressed.get(offer, Reason("not_eligible", "not chosen")) for offer in offers]
    if decision.control and decision.withheld:
        return "holdout", "holdout", reasons[0]
    if decision.control:  # the treatment would not have been sent anything either: no exposure on either side
        return "suppressed", "negative_value", "held out, and no offer is worth sending (expected value below zero)"
    first = reasons[0]
    return "suppressed", first.code if isinstance(first, Reason) else "not_eligible", "; ".join(reasons)


def _quiet_until(quiet: QuietHours | None, zone: str | None, now: datetime) -> datetime | None:
    """When the quiet hours around `now` end (UTC), or None outside them."""
    if quiet is None:
        return None
    local = now.astimezone(ZoneInfo(zone or quiet.timezone))
    moment, start, end = local.time(), quiet.start, quiet.end
    inside = start <= moment < end if start < end else (moment >= start or moment < end)
    if not inside:
        return None
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    return (until if until > local else until + timedelta(days=1)).astimezone(UTC)
