"""Reading the lake pauses the collector (every event built is kept) and always gives it back."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from tests.helpers.events import event_dict
from training.sources import SourceError, load_events


def test_the_collector_is_back_on_after_a_load_and_after_a_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(json.dumps(event_dict("page_view", minutes=i)) for i in range(3)) + "\n")
    assert len(load_events(str(good)).events) == 3 and gc.isenabled()
    (tmp_path / "bad.jsonl").write_text("not json\n")
    with pytest.raises(SourceError, match="invalid_json"):
        load_events(str(tmp_path))
    assert gc.isenabled()


def test_a_caller_that_paused_the_collector_finds_it_paused(tmp_path: Path) -> None:
    (tmp_path / "one.jsonl").write_text(json.dumps(event_dict("page_view")) + "\n")
    gc.disable()
    try:
        load_events(str(tmp_path))
        assert not gc.isenabled()
    finally:
        gc.enable()
