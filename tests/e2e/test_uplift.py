"""The uplift model end to end: a lake and a ledger whose customers answer offers as their persona
does (loyal ones buy anyway, bargain hunters are moved most), `python -m training uplift`, the
gate against ranking by the recorded propensity, publish and promote on the local AWS, and the
promoted graph serving the planted order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from microtarget.aws.model_registry import ModelRegistry

from local.aws import LocalAws
from tests.helpers.uplift import Scenario, planted
from training import build
from training.cli import main as cli

END = datetime(2026, 10, 1, 12, tzinfo=UTC)


def _uplift(scenario: Scenario, out: Path, *extra: str) -> int:
    return cli(["uplift", "--ledger-file", str(scenario.ledger), "--campaigns", str(scenario.campaigns),
                "--source", str(scenario.lake), "--as-of", scenario.as_of.isoformat(), "--out", str(out),
                "--workers", "1", *extra])  # fmt: skip


def test_the_uplift_model_finds_whom_an_offer_moves_and_serves_it(
    tmp_path: Path, local_aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = planted(tmp_path, 1_500, END, small=100)
    out = tmp_path / "uplift"
    assert _uplift(scenario, out) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    figures = manifest["metrics"]["validation"]["offers"]["weekend-deal"]
    assert manifest["offers"] == ["weekend-deal"] and manifest["kind"] == "uplift"
    assert figures["qini"] > 0 > figures["propensity_qini"]  # the recorded propensity targets the sure things
    assert 0 < figures["qini_difference_ci"][0] < figures["qini"] - figures["propensity_qini"]  # and surely so
    assert figures["held_out"]["treated"] + figures["held_out"]["control"] > 300
    assert "small-offer" in manifest["data"]["skipped"]  # 100 customers: too few buyers in each arm
    assert "no uplift model for small-offer" in capsys.readouterr().err
    page = (out / "report.html").read_text()  # the figures and the Qini curves, beside the model
    assert page.count("<svg") == 1 and 'id="qini-weekend-deal"' in page and "small-offer: treated" in page

    models = local_aws.ref("ModelsBucket")
    assert cli(["publish", str(out), "--bucket", models, "--promote"]) == 0
    capsys.readouterr()
    assert cli(["list", "--bucket", models, "--model", "uplift"]) == 0  # and promote, rollback: the registry's
    assert json.loads(capsys.readouterr().out)[0]["qini"] == figures["qini"]
    served = ModelRegistry(local_aws.client("s3"), models).load("uplift", "prod")
    assert served is not None and served.version == manifest["version"]
    shots, _read = build.snapshots(str(scenario.lake), END - timedelta(days=10), workers=1)
    uplift = served.predict(shots.values)[:, 0]
    persona = np.array([scenario.persona_of[pid] for pid in shots.pids])
    mean = {name: float(uplift[persona == name].mean()) for name in set(persona)}
    assert mean["bargain_hunter"] > mean["loyal_high_value"] + 0.1  # planted: +0.32 against none


def test_without_enough_outcomes_nothing_is_written_and_the_command_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = planted(tmp_path, 300, END)
    assert _uplift(scenario, tmp_path / "uplift", "--min-outcomes", "1000") == 0
    assert not (tmp_path / "uplift").exists()
    captured = capsys.readouterr()
    assert "nothing written" in captured.err and "needs 1000 of each in each arm" in captured.err
    assert json.loads(captured.out)["offers"] == {}
