"""`make bench`: each figure beside its goal. Run on an otherwise idle machine."""

from __future__ import annotations

import os
import platform
import sys

from bench import ingest


def main() -> int:
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; one core used\n")
    rows: list[tuple[str, str, str, bool]] = []
    figures = ingest.run()
    rows.append(
        (
            "ingest logic, 10,000-record batch",
            f"{figures['ingest_events_per_second']:,.0f} events/s ({figures['ingest_batch_ms']:.0f} ms)",
            ">= 30,000 events/s",
            figures["ingest_events_per_second"] >= 30_000,
        )
    )
    rows.append(
        (
            "profile writes per customer per batch",
            f"{figures['writes_per_customer']:.2f} ({figures['customers_in_batch']:,.0f} customers)",
            "<= 1",
            figures["writes_per_customer"] <= 1,
        )
    )
    width = max(len(row[0]) for row in rows)
    print(f"{'figure':<{width}}  {'measured':<36} {'goal':<22} ok")
    for name, measured, goal, ok in rows:
        print(f"{name:<{width}}  {measured:<36} {goal:<22} {'yes' if ok else 'NO'}")
    return 0 if all(row[3] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
