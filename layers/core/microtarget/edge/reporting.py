"""What the functions report about themselves beyond their own logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, get_args

from microtarget.campaigns import TriggerKind

if TYPE_CHECKING:
    from microtarget.ingest import BatchReport


def problem_reporter(metrics: Any, logger: Any) -> Callable[[str, str], None]:
    """What ServingState calls on a problem (a campaigns file that stopped validating, a model
    refused): one metric named for it, and a warning with the detail."""

    def report(name: str, detail: str) -> None:
        metrics.add_metric(name=name, unit="Count", value=1)
        logger.warning(detail)

    return report


TRIGGER_KINDS: tuple[str, ...] = get_args(TriggerKind)


def trigger_metric(kind: str) -> str:
    """The metric counting one kind's triggers: cart_abandonment → TriggersCartAbandonment."""
    return "Triggers" + kind.title().replace("_", "")


def report_batch(report: BatchReport, metrics: Any, logger: Any) -> None:
    """One ingest batch's metrics and summary line, and each retry cause once per customer."""
    for name, value in (
        ("EventsAccepted", report.accepted),
        ("EventsDuplicate", report.duplicates),
        ("EventsErased", report.erased),
        # each bad record once: a replay's rejections were dead-lettered (and counted) the first time
        ("EventsRejected", sum(report.rejected.values()) - report.rejected_before),
        ("ProfilesWritten", report.profiles_written),
        ("RecordsFailed", len(report.failed_sequence_numbers)),
        ("TriggersFired", sum(report.triggers.values())),
        ("Conversions", report.conversions),
        ("ProfilesCompacted", report.compacted),
    ):
        metrics.add_metric(name=name, unit="Count", value=value)
    for kind in TRIGGER_KINDS:  # every kind, 0 included: the dashboard's lines do not break
        metrics.add_metric(name=trigger_metric(kind), unit="Count", value=report.triggers.get(kind, 0))
    logger.info(
        "batch committed",
        accepted=report.accepted,
        duplicates=report.duplicates,
        erased=report.erased,
        rejected=dict(report.rejected),
        rejected_before=report.rejected_before,
        customers=report.customers,
        profiles_written=report.profiles_written,
        failed_records=len(report.failed_sequence_numbers),
        triggers=dict(report.triggers),
        stale_triggers=report.stale_triggers,
        conversions=report.conversions,
        compacted=report.compacted,
    )
    for failure in report.failures:  # for the operator's runbook: never a raw id
        logger.warning(
            "records failed, Lambda retries them",
            cause=failure.cause,
            customer_pid=failure.customer_pid,
            sequence_numbers=failure.sequence_numbers[:20],
            records=len(failure.sequence_numbers),
        )
