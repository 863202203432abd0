"""The campaigns file: the shipped catalog is valid; errors name the offer and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from microtarget.campaigns import parse_campaigns
from microtarget.errors import PermanentError

CATALOG = Path(__file__).resolve().parents[2] / "campaigns" / "catalog.yaml"


def test_shipped_catalog_is_valid_and_covers_the_main_moments() -> None:
    campaigns = parse_campaigns(CATALOG.read_text())
    assert {o.id for o in campaigns.offers} == {
        "cart-recovery",
        "repeat-view-nudge",
        "win-back",
        "vip-early-access",
        "welcome",
        "cross-sell",
    }
    assert any(arm.control for e in campaigns.experiments for arm in e.arms)
    assert {t.kind for t in campaigns.triggers} == {"repeat_views", "cart_abandonment", "churn_risk", "post_purchase"}
    templates = CATALOG.parent / "templates"
    for offer in campaigns.offers:  # every channel an offer is sent on has its template files
        files = {"email": ["subject.txt", "body.html"], "push": ["push.txt"]}
        for channel in offer.channels:
            for name in files.get(channel, []):
                assert (templates / offer.template / name).is_file(), f"{offer.template}/{name}"


def test_trigger_errors_name_the_trigger_and_field() -> None:
    base = "version: x\noffers:\n  - {id: a, name: A, channels: [email], template: t, value: 1}\n"
    bad = [
        ("triggers:\n  - {id: t1, kind: repeat_views, channel: email, offers: [a]}", "trigger 't1'", "min_views"),
        ("triggers:\n  - {id: t1, kind: churn_risk, channel: push, offers: [a], threshold: 0.5}", "file", "push"),
        ("triggers:\n  - {id: t1, kind: post_purchase, channel: email, offers: [zz]}", "file", "unknown offer 'zz'"),
        ("quiet_hours: {start: '21:00', end: '08:00', timezone: Mars/Olympus}", "quiet_hours.timezone", "Mars"),
    ]
    for extra, field, message in bad:
        with pytest.raises(PermanentError) as caught:
            parse_campaigns(base + extra)
        assert caught.value.field == field and message in caught.value.message, (extra, caught.value)


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (
            "version: x\noffers:\n  - {id: a, name: A, channels: [fax], template: t, value: 1}",
            "offer 'a' channels.0",
            "email",
        ),
        (
            "version: x\noffers:\n  - {id: a, name: A, channels: [email], template: t, value: 1, eligibility: {min_propensity: 1.5}}",
            "offer 'a' eligibility.min_propensity",
            "less than or equal to 1",
        ),
        (
            "version: x\noffers:\n  - {id: b, name: B, channels: [email], template: t}",
            "offer 'b' value",
            "Field required",
        ),
        ("version: x\noffers: []", "offers", "at least 1"),
        (
            "version: x\noffers:\n  - {id: c, name: C, channels: [web], template: t, value: 1, eligibility: {pages: [Cart Page]}}",
            "offer 'c' eligibility.pages.0",
            "should match pattern",
        ),
    ],
)
def test_invalid_campaigns_name_offer_and_field(text: str, field: str, message: str) -> None:
    with pytest.raises(PermanentError) as caught:
        parse_campaigns(text)
    assert caught.value.field == field and message in caught.value.message


def test_cross_references_are_checked() -> None:
    text = """
version: x
offers:
  - {id: a, name: A, channels: [email], template: t, value: 1}
experiments:
  - {id: e1, offers: [zzz], arms: [{name: t, weight: 1}, {name: c, weight: 1, control: true}]}
"""
    with pytest.raises(PermanentError, match="unknown offer 'zzz'"):
        parse_campaigns(text)


def test_not_yaml_is_a_clear_error() -> None:
    with pytest.raises(PermanentError, match="not YAML"):
        parse_campaigns("offers: [unclosed")


def test_a_global_holdout_covers_every_offer_and_holds_its_control_out_of_all() -> None:
    from datetime import UTC, datetime

    from microtarget.decisions import arm_of, decide

    text = """
version: x
offers:
  - {id: a, name: A, channels: [web], template: t, value: 1}
  - {id: b, name: B, channels: [web], template: t, value: 2}
experiments:
  - {id: everything, offers: "*", arms: [{name: "on", weight: 0.5}, {name: "off", weight: 0.5, control: true}]}
"""
    campaigns = parse_campaigns(text)
    (experiment,) = campaigns.experiments
    assert experiment.offers == ["a", "b"]  # every offer of the file, one added later included
    pids = [f"c_{i:04d}" for i in range(40)]
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    treated = next(decide(p, None, "web", now, campaigns, {}) for p in pids if not arm_of(experiment, p).control)
    for pid in pids:
        decision = decide(pid, None, "web", now, campaigns, {})
        held = arm_of(experiment, pid).control
        assert decision.control is held and (decision.offers == []) is held  # out of every offer, or of none
        # a holdout names the offer the treatment would have got first: each offer's control is its own
        assert decision.withheld == (treated.offers[0].offer_id if held else "")
    assert {arm_of(experiment, pid).control for pid in pids} == {True, False}
    with pytest.raises(PermanentError, match="offers"):
        parse_campaigns(text.replace('"*"', '"all"'))  # only "*" means every offer
    with pytest.raises(PermanentError, match="offers"):
        parse_campaigns('version: a\noffers: 5\nexperiments: [{id: e, offers: "*", arms: []}]')  # named, not a crash
