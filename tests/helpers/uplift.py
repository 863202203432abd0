"""A lake and a ledger with planted responsiveness: synthetic customers, each exposed once in a
half-held-out experiment, who buy within the week after at their persona's rate (held out or
sent: `synthetic.ANSWERS`). Loyal customers buy anyway, bargain hunters are moved most: the
propensity the ledger records (the persona's base rate, with noise) ranks the wrong ones first."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from microtarget.aws.ledger import conversion_item, item_of
from microtarget.clock import DAY_MS, to_ms
from microtarget.identity import Pseudonymizer
from microtarget.outcomes import Conversion, LedgerEntry

from training.sources import write_events
from training.synthetic import ANSWERS, generate

KEY = "uplift-test-key-0123456789abcdef0123456789abcdef"
CAMPAIGNS = """
version: uplift-test
attribution_days: 7
offers:
  - {id: weekend-deal, name: Weekend deal, channels: [email], template: cart_recovery, value: 30, cost: 1, rank_by: uplift}
  - {id: small-offer, name: Small offer, channels: [email], template: cart_recovery, value: 30, cost: 1}
experiments:
  - id: weekend-2026
    offers: [weekend-deal, small-offer]
    arms:
      - {name: treatment, weight: 0.5}
      - {name: holdout, weight: 0.5, control: true}
"""


@dataclass
class Scenario:
    lake: Path
    ledger: Path
    campaigns: Path
    as_of: datetime
    persona_of: dict[str, str]  # pid → persona
    pids: Pseudonymizer
    items: list[dict[str, Any]]  # the ledger's, as the table holds them


def planted(folder: Path, customers: int, end: datetime, seed: int = 5, small: int = 0, days: int = 45) -> Scenario:
    """Traffic to `end`, each customer exposed in its last 10 days (the first `small` for
    small-offer, the rest for weekend-deal), the ledger as of a week after the last exposure."""
    traffic = generate(customers, days, seed=seed, end=end)
    pids = Pseudonymizer(KEY)
    write_events(traffic.events, str(folder / "lake"), "history", pids)
    rng = random.Random(seed)
    items, persona_of = [], {}
    for index, customer in enumerate(sorted(traffic.truth)):
        pid, persona = pids.pid(customer), traffic.truth[customer]
        persona_of[pid] = persona
        at = to_ms(end) - rng.randrange(10 * DAY_MS)
        held = int(hashlib.sha256(pid.encode()).hexdigest(), 16) % 2 == 0
        offer, arm = ("small-offer" if index < small else "weekend-deal"), ("holdout" if held else "treatment")
        decision = hashlib.blake2b(f"{pid}|{at}".encode(), digest_size=12).hexdigest()
        base, sent = ANSWERS[persona]
        entry = LedgerEntry(pid, decision, at, "holdout" if held else "sent", code="holdout" if held else "sent",
                            channel="email", offer_id=offer, experiments={"weekend-2026": arm})  # fmt: skip
        entry.detail = {"scores": {"propensity": round(min(1.0, base + rng.gauss(0, 0.03)), 4)}}
        items.append(item_of(entry))
        if rng.random() < (base if held else sent):
            bought = at + rng.randrange(3_600_000, 6 * DAY_MS)
            conversion = Conversion(pid, f"e{index}", bought, "purchase", decision, offer,
                                    entry.outcome, {"weekend-2026": arm}, 4_000)  # fmt: skip
            items.append(conversion_item(conversion))
    ledger = folder / "ledger.jsonl"
    ledger.write_text("".join(json.dumps(item, default=str) + "\n" for item in items))
    campaigns = folder / "campaigns.yaml"
    campaigns.write_text(CAMPAIGNS)
    return Scenario(folder / "lake", ledger, campaigns, end + timedelta(days=7), persona_of, pids, items)
