"""The whole demo flow on the local AWS, small: it accounts for every record and leaks no raw id."""

from __future__ import annotations

import pytest

from local import demo


@pytest.mark.slow
def test_demo_runs_end_to_end_and_loses_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--customers", "300", "--days", "70", "--live-days", "2", "--seed", "21"]) == 0
    out = capsys.readouterr().out
    assert "(nothing lost)" in out
    assert "raw customer ids found in profiles or logs: 0" in out
    assert "max writes per customer in a batch: 1.00" in out or "max writes per customer in a batch: 0." in out
    assert "adjusted Rand index" in out and "registry: propensity  dev → " in out
    assert "an unknown visitor (web): c_" in out and "[cold start]" in out
    for section in (
        "1. Local AWS",
        "2. Synthetic",
        "3. History",
        "4. Live",
        "5. Training",
        "6. Decisions API",
        "7. Privacy",
        "example profile",
    ):
        assert section in out
