"""The demo's privacy act: one customer's access export, their erasure end to end with its
receipt, and the search that shows nothing of them is left."""

from __future__ import annotations

from pathlib import Path

from local.aws import LocalAws
from local.clock import LocalClock
from local.privacy import traces
from local.privacy_calls import PrivacyCalls


def show_erasure(aws: LocalAws, clock: LocalClock, customer: str, pid: str, log_dir: Path) -> int:
    """Returns how many stores still hold the customer afterwards (0: erased everywhere)."""
    calls = PrivacyCalls(aws, log_dir)
    held = calls.access(customer)[1]
    profile = held["profile"] or {}
    print(
        "Ana asks what is held about her, then to be forgotten.\n"
        f"GET /v1/customers/{{id}}/data (a data-subject access request, SigV4 as the DPO): "
        f"orders {profile.get('orders', 0)}, active days {len(profile.get('daily_activity', {}))}, "
        f"decisions {len(held['decisions'])}, conversions {len(held['conversions'])}, "
        f"contact {'held (sealed)' if held['contact'] else 'none'}, consent {sorted(held['consent'])}"
    )
    before = traces(aws, [customer, pid])
    status, receipt = calls.erase(customer)
    print(f"DELETE /v1/customers/{{id}} → {status} {receipt['erasure_id']} (the stores holding them: {sorted(before)})")
    calls.run_job()
    clock.advance(hours=25)  # a pass a day later closes it: Firehose retries S3 delivery for up to 24 h
    calls.run_job()
    receipt = calls.receipt(receipt["erasure_id"])[1]
    print(f"  GET /v1/erasures/{{id}}: {receipt['status']}")
    for store, state in receipt["stores"].items():
        print(f"    {store:<16} {state['state']:<8} {state['removed']:>4} removed")
    left = traces(aws, [customer, pid], skip=["PrivacyTable", "ProfilesTable"])
    print(
        f"  afterwards, every table, queue, bucket version and schedule searched for the raw id and the pid: "
        f"{sum(left.values())} found (the receipt and audit log keep the pid; the profile is a tombstone)"
    )
    return len(left)
