"""Experiment results from the decisions ledger: who was exposed in which arm, what they bought.

The unit is the customer. A customer enters an experiment at their first exposure in it (a send
or a holdout, from dispatch or reported by a campaign tool; intent to treat: later exposures do
not move them) and is measured from then for the campaigns' attribution window: converted (any
purchase), revenue, redemptions. The ledger records every purchase within the window after an
exposure, so the window after the first one is complete. The pre-exposure covariates (orders and
revenue in the 90 days before the exposure's day) come from the exposure's `detail.pre`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from microtarget.clock import DAY_MS
from microtarget.outcomes import EXPOSED


@dataclass(slots=True)
class Units:
    """One experiment's customers as columns; conversions as rows pointing at them."""

    experiment: str
    arms: list[str]
    arm: np.ndarray  # int16 index into arms
    entered: np.ndarray  # int64 ms of the first exposure
    pre_orders: np.ndarray  # float64
    pre_revenue: np.ndarray
    unit: np.ndarray  # per conversion: the customer's row
    at: np.ndarray  # int64 ms
    revenue: np.ndarray  # currency units, 0 for a redemption
    purchase: np.ndarray  # bool: a purchase, else an offer redemption
    offers: list[str] = field(default_factory=list)  # the offers first exposures were for ("" unknown)
    offer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))  # per customer: index into offers
    pids: list[str] = field(default_factory=list)  # per customer (the uplift model's features are read by it)

    def only(self, keep: np.ndarray) -> Units:
        """The customers where `keep` is true, with their conversions (the arms stay as they are)."""
        new_index = np.cumsum(keep) - 1
        mine = keep[self.unit]
        return Units(self.experiment, self.arms, self.arm[keep], self.entered[keep], self.pre_orders[keep],
                     self.pre_revenue[keep], new_index[self.unit[mine]], self.at[mine], self.revenue[mine],
                     self.purchase[mine], self.offers, self.offer[keep],
                     [p for p, k in zip(self.pids, keep, strict=True) if k])  # fmt: skip

    def outcomes(self, until_ms: int, window_days: int) -> dict[str, np.ndarray]:
        """Per customer who entered by `until_ms`: converted, revenue, redemptions to then."""
        inside = self.entered <= until_ms
        counted = (self.at <= np.minimum(until_ms, self.entered[self.unit] + window_days * DAY_MS)) & (
            self.at >= self.entered[self.unit]
        )
        n = len(self.arm)
        bought = counted & self.purchase
        converted = np.bincount(self.unit[bought], minlength=n) > 0
        revenue = np.bincount(self.unit[bought], weights=self.revenue[bought], minlength=n)
        redeemed = np.bincount(self.unit[counted & ~self.purchase], minlength=n) > 0
        return {
            "arm": self.arm[inside],
            "converted": converted[inside].astype(np.float64),
            "revenue": revenue[inside],
            "redeemed": redeemed[inside].astype(np.float64),
            "pre_orders": self.pre_orders[inside],
            "pre_revenue": self.pre_revenue[inside],
        }


def collect(items: Iterable[dict[str, Any]], experiment: str | None = None) -> dict[str, Units]:
    """Every experiment in the ledger's items (or just one), as Units: columns first, then numpy
    (a million items in seconds, where a loop over them takes ten times as long)."""
    items = list(items)
    exposures = [it for it in items if it["sk"].startswith("d#") and it.get("outcome") in EXPOSED]
    conversions = [it for it in items if it["sk"].startswith("c#")]
    pid_index: dict[str, int] = {}
    pid = np.array([pid_index.setdefault(it["pid"], len(pid_index)) for it in exposures], dtype=np.int64)
    at = np.array([int(it["at"]) for it in exposures], dtype=np.int64)
    texts: dict[str, int] = {}
    code = np.array([texts.setdefault(it.get("experiments") or "{}", len(texts)) for it in exposures], dtype=np.int64)
    assignments = [json.loads(text) for text in texts]  # the few distinct ones, parsed once each
    names = sorted({name for arms in assignments for name in arms if experiment in (None, name)})
    c_pid = np.array([pid_index.get(it["pid"], -1) for it in conversions], dtype=np.int64)
    c_at = np.array([int(it["at"]) for it in conversions], dtype=np.int64)
    c_purchase = np.array([it.get("event_type") == "purchase" for it in conversions], dtype=bool)
    cents = np.array([int(it.get("revenue_cents", 0)) for it in conversions], dtype=np.float64)
    c_revenue = np.where(c_purchase, cents / 100, 0.0)
    found = {}
    for name in names:
        arm_names = sorted({arms[name] for arms in assignments if name in arms})
        arm_of_code = np.array([arm_names.index(a[name]) if name in a else -1 for a in assignments], dtype=np.int16)
        rows = np.flatnonzero(arm_of_code[code] >= 0)
        order = rows[np.lexsort((at[rows], pid[rows]))]  # by customer, then time: the first exposure leads
        firsts = order[np.r_[True, pid[order][1:] != pid[order][:-1]]] if len(order) else order
        pre = np.array([_pre(exposures[row].get("detail") or "") for row in firsts], dtype=np.float64).reshape(-1, 2)
        unit_of_pid = np.full(len(pid_index) + 1, -1, dtype=np.int64)  # the last slot: a pid never exposed
        unit_of_pid[pid[firsts]] = np.arange(len(firsts))
        unit = unit_of_pid[c_pid]
        keep = unit >= 0
        offer_index: dict[str, int] = {}
        offer = [offer_index.setdefault(exposures[row].get("offer_id") or "", len(offer_index)) for row in firsts]
        found[name] = Units(
            name, arm_names, arm_of_code[code[firsts]], at[firsts], pre[:, 0], pre[:, 1],
            unit[keep], c_at[keep], c_revenue[keep], c_purchase[keep], list(offer_index), np.array(offer, np.int16),
            [exposures[row]["pid"] for row in firsts],
        )  # fmt: skip
    return found


_DECODE = json.JSONDecoder()


def _pre(detail: str) -> tuple[float, float]:
    """(orders, revenue) of `detail.pre`, decoding only that part of the detail (scores are most of it)."""
    start = detail.find('"pre": {')
    if start < 0:
        return 0.0, 0.0
    pre, _ = _DECODE.raw_decode(detail, start + 7)
    return float(pre.get("orders_90d", 0.0)), float(pre.get("revenue_90d", 0.0))
