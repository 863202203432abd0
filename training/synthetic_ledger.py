"""A seeded experiment in the ledger's own item format, with a lift planted: for tests that check
the results recover it, and for the benchmark's million rows.

Each customer has a pre-exposure habit (orders in the last 90 days, Poisson) that drives their
chance to buy after the exposure, so CUPED has something to remove; the treatment arms buy
`lift` times more often (relative), or each offer's own lift when `offers` are given (each
exposure, held out or sent, names its offer, as dispatch records it). `drop` loses that share of the control arm's exposures, a
broken split the sample-ratio check must catch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from microtarget.aws.ledger import conversion_item, item_of
from microtarget.clock import DAY_MS, to_ms
from microtarget.outcomes import EXPOSED, RETENTION_DAYS, Conversion, LedgerEntry


@dataclass(frozen=True, slots=True)
class Planted:
    experiment: str = "planted"
    arms: tuple[tuple[str, float], ...] = (("treatment", 0.9), ("holdout", 0.1))
    control: str = "holdout"
    base_rate: float = 0.08  # chance to buy within the window for an average customer in control
    lift: float = 0.25  # relative, on the chance to buy
    window_days: int = 7
    days: int = 28  # exposures spread over these days before `end`
    drop: float = 0.0
    offers: tuple[tuple[str, float], ...] = ()  # (offer, its own lift), customers split evenly; () one offer, `lift`


def ledger_items(customers: int, end: datetime, plan: Planted = Planted(), seed: int = 1) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    names, weights = [a for a, _ in plan.arms], np.array([w for _, w in plan.arms])
    arm = rng.choice(len(names), customers, p=weights / weights.sum())
    habit = rng.gamma(1.2, 1.0, customers)
    pre_orders = rng.poisson(habit)
    pre_revenue = np.round(pre_orders * rng.gamma(3.0, 20.0, customers), 2)
    entered = to_ms(end) - (rng.random(customers) * plan.days * DAY_MS).astype(np.int64)
    chance = np.clip(plan.base_rate * (0.4 + 0.6 * pre_orders / 1.2), 0, 1)
    treated = np.array([names[a] != plan.control for a in arm])
    offers = plan.offers or (("cart-recovery", plan.lift),)
    offer = rng.integers(0, len(offers), customers)
    lift = np.array([lift for _, lift in offers])[offer]
    chance = np.where(treated, np.clip(chance * (1 + lift), 0, 1), chance)
    buys = rng.random(customers) < chance
    after = (rng.random(customers) * plan.window_days * DAY_MS).astype(np.int64)
    revenue = np.round(rng.gamma(2.0, 35.0, customers), 2)
    kept = ~((~treated) & (rng.random(customers) < plan.drop))
    template = {outcome: item_of(LedgerEntry("", "", 0, outcome, code=outcome, channel="email")) for outcome in EXPOSED}
    items = []
    for i in np.flatnonzero(kept):  # the ledger's items, copied from one made by item_of (1 M in seconds)
        pid, decision, at = (
            hashlib.blake2b(f"{seed}|{i}".encode(), digest_size=16).hexdigest(),
            f"dec-{i}",
            int(entered[i]),
        )
        outcome, offer_id = ("sent" if treated[i] else "holdout"), offers[offer[i]][0]
        experiments = {plan.experiment: names[arm[i]]}
        pre = {"orders_90d": float(pre_orders[i]), "revenue_90d": float(pre_revenue[i])}
        items.append({**template[outcome], "pid": pid, "decision_id": decision, "sk": f"d#{decision}", "at": at,
                      "offer_id": offer_id, "experiments": json.dumps(experiments, sort_keys=True),
                      "detail": json.dumps({"pre": pre}, sort_keys=True), "expires_at": at // 1000 + RETENTION_DAYS * 86_400})  # fmt: skip
        if buys[i] and at + int(after[i]) <= to_ms(end):
            conversion = Conversion(pid, f"ev{i}", at + int(after[i]), "purchase", decision, offer_id, outcome,
                                    experiments, int(revenue[i] * 100))  # fmt: skip
            items.append(conversion_item(conversion))
    return items
