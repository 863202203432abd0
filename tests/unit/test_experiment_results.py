"""Experiment results from ledger items: a planted lift recovered, a broken split caught, the
customer as the unit (first exposure, attribution window), and the command's files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from microtarget.aws.ledger import conversion_item, item_of
from microtarget.clock import to_ms
from microtarget.errors import PermanentError
from microtarget.outcomes import Conversion, LedgerEntry

from training import results, results_cmd
from training.cli import main
from training.experiments import collect
from training.results_cmd import compute, metric_data
from training.sources import SourceError
from training.synthetic_ledger import Planted, ledger_items

END = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)


def _exposure(pid: str, arm: str, at: datetime, outcome: str = "sent", decision: str = "d1", pre: float = 0.0) -> dict:
    entry = LedgerEntry(pid, decision, to_ms(at), outcome, experiments={"x": arm},
                        detail={"pre": {"orders_90d": pre, "revenue_90d": pre * 10}})  # fmt: skip
    return item_of(entry)


def _purchase(pid: str, at: datetime, euros: float, event: str = "e1") -> dict:
    return conversion_item(
        Conversion(pid, event, to_ms(at), "purchase", "d1", "", "sent", {"x": "a"}, int(euros * 100))
    )


def test_a_planted_lift_is_recovered_with_cuped_and_an_always_valid_interval() -> None:
    plan = Planted(lift=0.25, arms=(("treatment", 0.5), ("holdout", 0.5)))
    (doc,) = compute(ledger_items(60_000, END, plan, seed=11), None, END)
    converted = next(e for e in doc["lifts"] if e["metric"] == "converted")
    low, high = converted["cuped"]["relative_ci"]
    assert low < 0.25 < high and low > 0  # covers the truth, and finds it
    seq_low, seq_high = converted["sequential"]["relative_ci"]
    assert seq_low < low and seq_high > high and seq_low < 0.25 < seq_high  # wider: valid at every look
    assert converted["variance_reduction"] > 0.02  # the 90-day habit explains part of who buys
    assert converted["cuped"]["scale"] < converted["fixed"]["scale"]
    assert doc["series"][-1]["customers"] == {a["name"]: a["customers"] for a in doc["arms"]}
    assert len(doc["series"]) == 29  # a look each day from the first exposure (28 days back) to the end


def test_a_broken_split_is_flagged_and_its_lifts_are_not_to_be_trusted() -> None:
    plan = Planted(drop=0.08)  # 8 % of the holdout's exposures lost
    items = ledger_items(30_000, END, plan, seed=5)
    (doc,) = compute(items, None, END)
    assert doc["srm"] is None and "sample ratio" not in doc["verdicts"][0]  # no weights known: not checked
    units = collect(items)["planted"]
    checked = results.analyse(units, {"treatment": 0.9, "holdout": 0.1}, "holdout", 7, to_ms(END))
    assert checked["srm"]["mismatch"] and checked["srm"]["p_value"] < 0.001
    assert checked["verdicts"][0].startswith("sample ratio mismatch")
    fine = results.analyse(collect(ledger_items(30_000, END, Planted(), seed=5))["planted"],
                           {"treatment": 0.9, "holdout": 0.1}, "holdout", 7, to_ms(END))  # fmt: skip
    assert not fine["srm"]["mismatch"]


def test_the_customer_is_the_unit_from_the_first_exposure_for_the_window() -> None:
    t0 = END - timedelta(days=20)
    items = [
        _exposure("p1", "a", t0, pre=2.0),
        _exposure("p1", "b", t0 + timedelta(days=1), decision="d2"),  # a later exposure: p1 stays in a, from t0
        _purchase("p1", t0 - timedelta(hours=1), 50.0, "before"),  # before the exposure: not an outcome
        _purchase("p1", t0 + timedelta(days=2), 30.0, "in"),
        _purchase("p1", t0 + timedelta(days=8), 99.0, "after-window"),  # beyond 7 days from t0
        _exposure("p2", "b", t0 + timedelta(days=3), outcome="holdout"),
        _exposure("p3", "b", t0, outcome="suppressed"),  # never exposed: not a unit
        _purchase("p9", t0, 10.0, "stranger"),  # a customer in no experiment
    ]
    units = collect(items)["x"]
    assert units.arms == ["a", "b"] and len(units.arm) == 2
    data = units.outcomes(to_ms(END), 7)
    by_arm = {units.arms[a]: (c, r, p) for a, c, r, p in zip(data["arm"], data["converted"], data["revenue"], data["pre_orders"], strict=True)}  # fmt: skip
    assert by_arm == {"a": (1.0, 30.0, 2.0), "b": (0.0, 0.0, 0.0)}
    early = units.outcomes(to_ms(t0 + timedelta(days=1)), 7)  # as of a day in: p2 not yet exposed, p1 not yet bought
    assert list(early["converted"]) == [0.0]


def test_an_experiment_not_in_the_ledger_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="'nosuch' has no exposures"):
        compute([_exposure("p1", "a", END)], None, END, "nosuch")


def test_the_command_writes_json_and_html_per_experiment(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ledger = tmp_path / "ledger.jsonl"
    items = ledger_items(3_000, END, Planted(experiment="cart-recovery-2026q4"), seed=2)
    ledger.write_text("".join(json.dumps(item) + "\n" for item in items))
    out = tmp_path / "results"
    campaigns = Path(__file__).parents[2] / "campaigns" / "catalog.yaml"
    code = main(["results", "--ledger-file", str(ledger), "--campaigns", str(campaigns), "--as-of", "2026-11-30",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    folder = out / "cart-recovery-2026q4"
    assert sorted(p.name for p in folder.iterdir()) == ["2026-11-30.json", "latest.html", "latest.json"]
    doc = json.loads((folder / "latest.json").read_text())  # strict JSON: no NaN anywhere
    assert doc["srm"] is not None and [a["weight"] for a in doc["arms"]] == [0.1, 0.9]
    assert doc["as_of"] == "2026-12-01T00:00:00+00:00" and doc["window_days"] == 7
    page = (folder / "latest.html").read_text()
    assert page.count("<svg") == 3 and "always-valid" in page
    assert main(["results", "--ledger-file", str(ledger), "--out", str(out), "--as-of", "2026-11-30",
                 "--experiment", "nosuch"]) == 2  # fmt: skip
    assert "no exposures" in capsys.readouterr().err
    newest = (folder / "latest.json").read_bytes()
    assert main(["results", "--ledger-file", str(ledger), "--campaigns", str(campaigns), "--as-of", "2026-11-20",
                 "--out", str(out)]) == 0  # fmt: skip  # a backfill of an earlier day
    assert (folder / "latest.json").read_bytes() == newest and (folder / "2026-11-20.json").is_file()
    assert "latest.json is of a later day and stays" in capsys.readouterr().err


def test_a_configured_arm_with_no_customer_yet_is_reported_and_checked() -> None:
    items = [i for i in ledger_items(60, END, Planted(), seed=3) if "treatment" in i.get("experiments", "")]
    doc = results.analyse(collect(items)["planted"], {"treatment": 0.9, "holdout": 0.1}, "holdout", 7, to_ms(END))
    assert [(a["name"], a["customers"]) for a in doc["arms"]][1] == ("holdout", 0)
    assert doc["srm"]["observed"][1] == 0 and doc["srm"]["expected"][1] == pytest.approx(
        0.1 * doc["arms"][0]["customers"]
    )
    assert doc["verdicts"] == [
        "treatment vs holdout, converted: not enough data",
        "treatment vs holdout, revenue: not enough data",
    ]


def test_an_exposure_recorded_before_covariates_existed_counts_with_none() -> None:
    t0 = END - timedelta(days=3)
    old = item_of(LedgerEntry("p1", "d1", to_ms(t0), "sent", experiments={"x": "a"}, detail={"scores": {"pre": 9}}))
    units = collect([old, _exposure("p2", "b", t0, pre=4.0)])["x"]
    assert list(units.pre_orders) == [0.0, 4.0] and list(units.pre_revenue) == [0.0, 40.0]


def test_the_dashboards_figures_are_the_documents_lifts_and_sizes() -> None:
    plan = Planted(lift=0.25, arms=(("treatment", 0.5), ("holdout", 0.5)))
    (doc,) = compute(ledger_items(20_000, END, plan, seed=3), None, END)
    figures = {(d["MetricName"], tuple(x["Value"] for x in d["Dimensions"])): d["Value"] for d in metric_data(doc)}
    converted = next(e for e in doc["lifts"] if e["metric"] == "converted")
    lift = figures[("ExperimentConversionLift", ("planted", "treatment"))]
    assert lift == converted["cuped"]["relative"]
    low, high = (
        figures[("ExperimentConversionLiftLow", ("planted", "treatment"))],
        figures[("ExperimentConversionLiftHigh", ("planted", "treatment"))],
    )
    assert (low, high) == tuple(converted["sequential"]["relative_ci"]) and low < lift < high
    assert {figures[("ExperimentCustomers", ("planted", a["name"]))] for a in doc["arms"]} == {
        a["customers"] for a in doc["arms"]
    }
    assert ("ExperimentRevenueLift", ("planted", "treatment")) in figures
    assert not any(name == "ExperimentSrmPValue" for name, _ in figures)  # no weights given: no check to report


def test_each_offer_is_measured_apart_when_an_experiment_has_several() -> None:
    plan = Planted(arms=(("treatment", 0.5), ("holdout", 0.5)), offers=(("works", 0.6), ("does-nothing", 0.0)))
    items = ledger_items(40_000, END, plan, seed=4)
    sent_by_tool = _exposure("api-sent", "treatment", END - timedelta(days=2)) | {
        "experiments": '{"planted": "treatment"}'
    }
    (doc,) = compute([*items, sent_by_tool], None, END)
    by_offer = {entry["offer"]: entry for entry in doc["offers"]}
    assert set(by_offer) == {"works", "does-nothing", None} and by_offer[None]["customers"] == 1
    assert sum(e["customers"] for e in doc["offers"]) == sum(a["customers"] for a in doc["arms"])
    lift = {
        o: next(e for e in by_offer[o]["lifts"] if e["metric"] == "converted")["cuped"]
        for o in ("works", "does-nothing")
    }
    low, high = lift["works"]["relative_ci"]
    assert 0 < low < lift["works"]["relative"] < high and abs(lift["works"]["relative"] - 0.6) < 0.15  # found
    low, high = lift["does-nothing"]["relative_ci"]
    assert low < 0 < high  # no lift where none was planted
    assert all(e["customers"] == sum(a["customers"] for a in e["arms"]) for e in doc["offers"] if e["offer"])
    (single,) = compute(ledger_items(5_000, END, Planted(), seed=4), None, END)
    assert single["offers"] == []  # one offer: the totals are its figures
    held_by_tool = _exposure("api-held", "holdout", END - timedelta(days=2), outcome="holdout")
    (unmatched,) = compute([*items, held_by_tool | {"experiments": '{"planted": "holdout"}'}], None, END)
    (note,) = unmatched["offers"]  # a control without its offer: no offer can be measured on its own
    assert note["offer"] is None and "1 of them are the control's" in note["note"]


def test_a_crash_between_the_files_leaves_nothing_served_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API serves latest.json; it is written last, so a crash before it (after the dated file,
    before the page) leaves the previous answer or none, never a JSON without its page."""
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("".join(json.dumps(i) + "\n" for i in ledger_items(2_000, END, Planted(), seed=6)))
    argv = ["results", "--ledger-file", str(ledger), "--as-of", "2026-11-30", "--out", str(tmp_path / "out")]
    real = results_cmd.write_bytes

    def crash_on_the_page(location: str, body: bytes) -> None:
        if location.endswith("latest.html"):
            raise OSError("the disk went away")
        real(location, body)

    monkeypatch.setattr(results_cmd, "write_bytes", crash_on_the_page)
    with pytest.raises(OSError):
        main(argv)
    folder = tmp_path / "out" / "planted"
    assert sorted(p.name for p in folder.iterdir()) == ["2026-11-30.json"]  # nothing the API would serve
    monkeypatch.setattr(results_cmd, "write_bytes", real)
    assert main(argv) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["2026-11-30.json", "latest.html", "latest.json"]
    assert (folder / "latest.json").read_text() == (folder / "2026-11-30.json").read_text()  # the rerun is the same


def test_the_always_valid_test_is_tuned_for_the_sample_the_experiment_expects() -> None:
    from microtarget.campaigns import parse_campaigns

    def configured(customers_per_arm: int) -> dict:
        text = f"""
version: x
offers: [{{id: cart-recovery, name: C, channels: [email], template: t, value: 1}}]
experiments:
  - id: planted
    offers: [cart-recovery]
    expected_customers_per_arm: {customers_per_arm}
    arms: [{{name: treatment, weight: 0.5}}, {{name: holdout, weight: 0.5, control: true}}]
"""
        items = ledger_items(20_000, END, Planted(arms=(("treatment", 0.5), ("holdout", 0.5))), seed=8)
        (doc,) = compute(items, parse_campaigns(text), END)
        return doc

    def width(doc: dict) -> float:
        seq = next(e for e in doc["lifts"] if e["metric"] == "converted")["sequential"]
        return seq["relative_ci"][1] - seq["relative_ci"][0]

    matched, small, large = configured(10_000), configured(100), configured(1_000_000)  # ~10,000 an arm reached
    assert matched["sequential_tuning"] == 10_000 and small["sequential_tuning"] == 100
    assert width(matched) < width(small) and width(matched) < width(large)  # narrowest where it was tuned
    assert width(large) > 2 * width(matched)  # tuned for far more customers than came, it is much wider
    with pytest.raises(PermanentError, match="expected_customers_per_arm"):
        parse_campaigns("version: x\noffers: [{id: a, name: A, channels: [web], template: t, value: 1}]\n"
                        "experiments: [{id: e, offers: [a], expected_customers_per_arm: 5, "
                        "arms: [{name: t, weight: 1}, {name: c, weight: 1, control: true}]}]")  # fmt: skip


@pytest.mark.parametrize(("converted", "customers"), [(0, 5), (3, 8), (13, 35), (480, 5_000), (5, 5)])
def test_an_arms_conversion_rate_has_the_wilson_interval(converted: int, customers: int) -> None:
    """As scipy computes it: at 0 of 5 the rate may be up to 43 %, not the [0, 0] a t-interval gives."""
    from scipy.stats import binomtest

    ours = results._rate_ci(np.array([1.0] * converted + [0.0] * (customers - converted)))
    theirs = binomtest(converted, customers).proportion_ci(confidence_level=0.95, method="wilson")
    assert ours["value"] == converted / customers
    assert ours["ci"] == pytest.approx((theirs.low, theirs.high), abs=1e-9)
