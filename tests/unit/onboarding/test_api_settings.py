"""The API's audiences and replay window, as the environment gives them."""

from __future__ import annotations

import pydantic
import pytest

from landlord import settings


def test_audiences_default_to_landlord_and_take_a_comma_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert settings.Settings().api.audiences == [settings.API_AUDIENCE] == ["landlord"]
    monkeypatch.setenv("LANDLORD_API__AUDIENCES", " landlord , https://Landlord.example.com ")
    assert settings.Settings().api.audiences == ["landlord", "https://Landlord.example.com"]
    monkeypatch.setenv("LANDLORD_API__RECEIVER_REPLAY_WINDOW", "10m")
    assert settings.Settings().api.receiver_replay_window == 600.0


def test_no_audience_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDLORD_API__AUDIENCES", " , ")
    with pytest.raises(pydantic.ValidationError, match="at least one audience"):
        settings.Settings()
