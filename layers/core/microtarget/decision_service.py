"""Decisions for raw customer ids: pseudonymize, read the profiles in one batch, decide each;
record what campaign tools report doing with them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from microtarget.clock import DAY_MS, Clock, to_ms, utc_now
from microtarget.decisions import Context, Decision, decide
from microtarget.errors import PermanentError, RetryableError
from microtarget.exposures import Exposure, check_issued, issued_decision_id, ledger_entry
from microtarget.features import pre_exposure
from microtarget.identity import Pseudonymizer
from microtarget.ports import DecisionLog, ProfileStore, Serving
from microtarget.recommendations import recommend_for
from microtarget.scoring import score_many

Request = tuple[str, str, Context]  # customer, channel, where the answer will be used
Report = tuple[str, str, str, str | None, datetime | None]  # customer, decision, channel, offer, when
RECOMMENDATIONS = 3


class DecisionService:
    def __init__(
        self,
        state: Serving,
        profiles: ProfileStore,
        pseudonymizer: Pseudonymizer,
        clock: Clock = utc_now,
        ledger: DecisionLog | None = None,
    ) -> None:
        """`ledger`: what was sent in the last week, for frequency caps (None: no send history)."""
        self.state, self._profiles, self._pseudonymizer, self.clock = state, profiles, pseudonymizer, clock
        self._ledger = ledger

    def pseudonymize(self, customer_id: str) -> str:
        return self._pseudonymizer.pid(customer_id)

    def decide_many(self, requests: Sequence[Request], limit: int = 3) -> list[Decision]:
        """(raw customer id, channel, context) → decisions keyed by pid; the raw ids go no further.
        A context naming a product also gets what goes with it (the bought-together model)."""
        campaigns, models, now = self.state.campaigns(), self.state.models(), self.clock()
        if campaigns is None:
            raise RetryableError("no valid campaigns file has been loaded yet")
        pids = [self._pseudonymizer.pid(customer) for customer, _channel, _context in requests]
        found = self._profiles.get_many(pids)
        aliased = {pid: profile.alias_of for pid, profile in found.items() if profile.alias_of}
        if aliased:  # an anonymous id since identified: decided as the customer it became
            found |= self._profiles.get_many(set(aliased.values()) - set(found))
            pids = [aliased.get(pid) or pid for pid in pids]
        unique = list(dict.fromkeys(pids))  # a visitor with no profile yet may have been sent offers too
        sent = self._ledger.sends_many(unique, to_ms(now) - 7 * DAY_MS) if self._ledger else {}
        recommender = self.state.recommender() if any(c.product_id or c.page for _, _, c in requests) else None
        catalog = self.state.catalog() if recommender else None
        known = {pid: found[pid] for pid in unique if pid in found}
        scored = dict(zip(known, score_many(list(known.values()), now, models), strict=True))  # one run per model
        decisions = []
        for pid, (_customer, channel, context) in zip(pids, requests, strict=True):
            decision = decide(
                pid, found.get(pid), channel, now, campaigns, models, sent.get(pid, ()), limit, context=context,
                scored=scored.get(pid),
            )  # fmt: skip
            if recommender and (context.product_id or context.page):
                allowed = catalog.available if catalog else None  # never an unavailable product
                shown = [context.product_id] if context.product_id else []
                picks = recommend_for(recommender, shown, found.get(pid), allowed, RECOMMENDATIONS,
                                      segment=decision.segment, bought_since=campaigns.recommendations.bought_since(to_ms(now)))  # fmt: skip
                decision.recommendations = [product for product, _why in picks]
                decision.products = catalog.shown(picks) if catalog else []
            decision.decision_id = issued_decision_id(decision.decision_id, pid, to_ms(now), self._pseudonymizer.seal)
            decisions.append(decision)
        return decisions

    def record_exposures(self, reports: Sequence[Report]) -> list[tuple[int, PermanentError]]:
        """Record each valid report in the ledger (one batch); the others by index, with their reason."""
        if self._ledger is None:
            raise RetryableError("the decisions ledger is not configured for this stack")
        campaigns, now_ms = self.state.campaigns(), to_ms(self.clock())
        if campaigns is None:
            raise RetryableError("no valid campaigns file has been loaded yet")
        entries, rejected = [], []
        for index, (customer, decision_id, channel, offer_id, at) in enumerate(reports):
            pid = self._pseudonymizer.pid(customer)
            exposure = Exposure(pid, decision_id, channel, offer_id, to_ms(at) if at else now_ms)
            try:
                check_issued(exposure, now_ms, self._pseudonymizer.sealers(customer))
                entries.append(ledger_entry(exposure, campaigns, now_ms, self._ledger.retention_days))
            except PermanentError as reason:
                rejected.append((index, reason))
        profiles = self._profiles.get_many(list({entry.pid for entry in entries})) if entries else {}
        for entry in entries:  # what the results adjust for: the customer's behaviour before the exposure
            entry.detail["pre"] = pre_exposure(profiles.get(entry.pid), entry.at_ms)
        self._ledger.record_many(entries)
        return rejected
