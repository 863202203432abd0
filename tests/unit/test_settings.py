from __future__ import annotations

import pytest
from microtarget.edge.settings import IngestSettings, load_settings
from microtarget.errors import ConfigurationError

COMPLETE = {
    "PROFILES_TABLE": "t",
    "REJECTED_QUEUE_URL": "http://q",
    "DATA_LAKE_BUCKET": "b",
    "PSEUDONYM_SECRET_ID": "s",
    "REJECTION_INDEX_TABLE": "i",
}


def test_settings_read_from_the_environment() -> None:
    settings = load_settings(IngestSettings, {**COMPLETE, "LATE_TOLERANCE_HOURS": "24"})
    assert settings.late_tolerance_hours == 24 and settings.profiles_table == "t"


def test_missing_setting_is_named() -> None:
    with pytest.raises(ConfigurationError, match="PROFILES_TABLE"):
        load_settings(IngestSettings, {k: v for k, v in COMPLETE.items() if k != "PROFILES_TABLE"})


def test_malformed_setting_is_named() -> None:
    with pytest.raises(ConfigurationError, match="LATE_TOLERANCE_HOURS"):
        load_settings(IngestSettings, {**COMPLETE, "LATE_TOLERANCE_HOURS": "0"})
