"""The training CLI's arguments say what they mean and fail clearly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from training.cli import _as_of
from training.cli import main as cli


def test_an_as_of_date_means_the_end_of_that_day_and_a_timestamp_itself() -> None:
    assert _as_of("2026-11-20") == datetime(2026, 11, 21, tzinfo=UTC)
    assert _as_of("2026-11-20T10:30:00+00:00") == datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


def test_scoring_with_a_models_folder_that_is_not_one_names_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_KEY", "a-test-key-of-enough-length")
    args = ["score", "--source", str(tmp_path), "--models", str(tmp_path / "nosuch"), "--out", str(tmp_path / "s.csv")]
    assert cli([*args, "--key-env", "TEST_KEY"]) == 2
    assert "no propensity/manifest.json and model.onnx" in capsys.readouterr().err
