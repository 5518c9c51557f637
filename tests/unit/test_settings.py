"""Settings come from LANDLORD_* variables, nested with ``__``."""

from __future__ import annotations

import pathlib

import pytest
from pydantic import ValidationError

from landlord import settings


def test_defaults_follow_the_design() -> None:
    loaded = settings.Settings()

    assert loaded.platform_namespace == "landlord-system"
    assert loaded.sources.allowed_schemes == ["https", "ssh"]
    assert loaded.api.bind == "127.0.0.1:8080"
    assert loaded.policy.path is None  # the platform repository's policies/
    assert loaded.policy.repo_path == "policies"
    assert loaded.cluster.state_dir == pathlib.Path(".landlord/cluster")
    assert loaded.telemetry.traces_exporter == "none"


def test_comma_lists_and_nested_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDLORD_SOURCES__ALLOWED_SCHEMES", "https, ssh,HTTP")
    monkeypatch.setenv("LANDLORD_API__BIND", "127.0.0.1:9999")
    monkeypatch.setenv("LANDLORD_TELEMETRY__LOG_LEVEL", "debug")

    loaded = settings.load()

    assert loaded.sources.allowed_schemes == ["https", "ssh", "http"]
    assert loaded.api.bind == "127.0.0.1:9999"
    assert loaded.telemetry.log_level == "DEBUG"


def test_feature_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDLORD_FEATURES__DRIFT_DETECTION", "false")
    monkeypatch.setenv("LANDLORD_FEATURES__NETWORK_ISOLATION", "true")

    assert settings.load().features == {"drift_detection": False, "network_isolation": True}


def test_kubebuilder_assets_is_the_binaries_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBEBUILDER_ASSETS", "/opt/envtest/bin")
    assert settings.load().cluster.assets_dir == pathlib.Path("/opt/envtest/bin")

    monkeypatch.setenv("LANDLORD_CLUSTER__ASSETS_DIR", "/elsewhere")
    assert settings.load().cluster.assets_dir == pathlib.Path("/elsewhere")


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDLORD_TELEMETRY__TRACES_EXPORTER", "zipkin")

    with pytest.raises(ValidationError, match="traces_exporter"):
        settings.load()


def test_the_record_of_policy_requests_is_bounded_and_can_be_switched_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded = settings.Settings()
    assert (loaded.policy.record_requests, loaded.policy.publish_interval) == (100_000, 10.0)

    monkeypatch.setenv("LANDLORD_POLICY__RECORD_REQUESTS", "0")
    monkeypatch.setenv("LANDLORD_POLICY__PUBLISH_INTERVAL", "1m")
    loaded = settings.load()
    assert (loaded.policy.record_requests, loaded.policy.publish_interval) == (0, 60.0)

    for name, value in (("RECORD_REQUESTS", "-1"), ("PUBLISH_INTERVAL", "0.1")):
        monkeypatch.setenv(f"LANDLORD_POLICY__{name}", value)
        with pytest.raises(ValidationError):
            settings.load()
        monkeypatch.delenv(f"LANDLORD_POLICY__{name}")
