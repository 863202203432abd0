"""A data-subject access export: everything held about one customer, in words a person reads.

The profile's counters get their names, times become ISO dates, money is in currency units;
the ledger's decisions carry the scores and segment the models gave at the time (scores are
not stored anywhere else: the serving functions compute them per request).
"""

from __future__ import annotations

import json
from typing import Any

from microtarget.clock import from_ms
from microtarget.contacts import Contact
from microtarget.profile import CartLine, Profile

COUNTERS = {
    "v": "page_views", "pv": "product_views", "q": "searches", "c": "added_to_cart", "rc": "removed_from_cart",
    "co": "checkouts", "p": "purchases", "r": "revenue", "i": "items_bought", "s": "sessions",
    "eo": "emails_opened", "ec": "emails_clicked", "or": "offers_redeemed",
}  # fmt: skip
HELD = {
    "profile": "ProfilesTable: behaviour folded from site events, keyed by pid",
    "contact": "ContactsTable: sealed with the contacts key, readable by dispatch (and this export)",
    "decisions": "LedgerTable: every triggered or reported decision and its outcome, 180 days",
    "conversions": "LedgerTable: purchases linked to the decision before them, 180 days",
    "events": "the data lake: the events themselves, under the pid (erasure removes them)",
}


def access_export(pid: str, profile: Profile | None, contact: Contact | None, ledger: list[dict[str, Any]]) -> dict:
    return {
        "pid": pid,
        "where_held": HELD,
        "profile": _profile(profile) if profile is not None and profile.last_seen is not None else None,
        "consent": _consent(profile),
        "contact": contact.model_dump(exclude_none=True) if contact else None,
        "decisions": [_decision(item) for item in ledger if item["sk"].startswith("d#")],
        "conversions": [_conversion(item) for item in ledger if item["sk"].startswith("c#")],
    }


def _at(ms: Any) -> str | None:
    return from_ms(int(ms)).isoformat() if ms is not None else None


def _money(cents: Any) -> float | None:
    return None if cents is None else int(cents) / 100


def _profile(profile: Profile) -> dict[str, Any]:
    return {
        "first_seen": _at(profile.first_seen),
        "last_seen": _at(profile.last_seen),
        "orders": profile.orders,
        "revenue": _money(profile.revenue_cents),
        "items_bought": profile.items,
        "offers_redeemed": profile.offers_redeemed,
        "last_purchase_at": _at(profile.last_purchase_at),
        "last_order_id": profile.last_order_id,
        "checkout_started_at": _at(profile.checkout_at),
        "email_last_opened_at": _at(profile.email_last_open_at),
        "email_last_clicked_at": _at(profile.email_last_click_at),
        "cart": [_line(line) for line in profile.cart().values()],
        "recent_product_views": [
            {"at": _at(ts), "product_id": product, "category": category}
            for ts, _digest, product, category in profile.recent_views
        ],
        "products_bought": [{"last_bought_at": _at(ts), "product_id": product} for ts, product in profile.bought],
        "daily_activity": {
            day: {COUNTERS.get(k, k): (_money(v) if k == "r" else v) for k, v in sorted(counts.items())}
            for day, counts in sorted(profile.days.items())
        },
        "erased_before": _at(profile.erased_before),
    }


def _line(line: CartLine) -> dict[str, Any]:
    return {"product_id": line.product_id, "quantity": line.quantity, "price": _money(line.price_cents),
            "added_at": _at(line.added_at)}  # fmt: skip


def _consent(profile: Profile | None) -> dict[str, Any]:
    if profile is None:
        return {}
    return {channel: {"granted": bool(state[0]), "at": _at(state[1])} for channel, state in profile.consent.items()}


def _decision(item: dict[str, Any]) -> dict[str, Any]:
    detail = json.loads(item.get("detail") or "{}")
    return {
        "decision_id": item.get("decision_id"),
        "at": _at(item.get("at")),
        "source": item.get("source", "trigger"),
        "trigger": item.get("trigger") or None,
        "channel": item.get("channel") or None,
        "outcome": item.get("outcome"),
        "reason": item.get("reason") or None,
        "offer_id": item.get("offer_id") or None,
        "experiments": json.loads(item.get("experiments") or "{}"),
        "scores": detail.get("scores", {}),
    }


def _conversion(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": _at(item.get("at")),
        "event_type": item.get("event_type"),
        "decision_id": item.get("decision_id"),
        "offer_id": item.get("offer_id") or None,
        "revenue": _money(item.get("revenue_cents")),
    }
