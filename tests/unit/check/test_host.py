"""``landlord check``'s checks of this machine: policy, kustomize, sandbox (no cluster)."""

from __future__ import annotations

import pathlib

from landlord import settings
from landlord.check import host
from landlord.policy.engine import DEFAULTS


def _settings(**changes: object) -> settings.Settings:
    config = settings.Settings()
    for dotted, value in changes.items():
        section, _, field = dotted.partition("__")
        setattr(getattr(config, section), field, value)
    return config


def test_the_shipped_policy_is_valid() -> None:
    result = host.policy(_settings(), None)

    assert result.state == "ok"
    assert "shipped with Landlord" in result.message


def test_an_invalid_policy_path_fails_naming_the_problem(tmp_path: pathlib.Path) -> None:
    (tmp_path / "model.conf").write_text((DEFAULTS / "model.conf").read_text())
    (tmp_path / "policy.csv").write_text("p, role:x, apply\n")

    result = host.policy(_settings(policy__path=tmp_path), None)

    assert result.state == "fail"
    assert "policy.csv" in result.message
    assert "landlord policy check" in result.hint


def test_missing_kustomize_says_to_build_it(tmp_path: pathlib.Path) -> None:
    result = host.kustomize(_settings(cluster__cache_dir=tmp_path, cluster__assets_dir=None))

    assert result.state == "fail"
    assert result.hint == "run `landlord cluster build`"


def test_an_unusable_sandbox_fails_unless_confinement_is_off(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "no-bwrap"

    refused = host.build_sandbox(_settings(sandbox__bwrap=missing))
    accepted = host.build_sandbox(_settings(sandbox__bwrap=missing, sandbox__mode="unconfined"))

    assert refused.state == "fail"
    assert "bubblewrap" in refused.message
    assert accepted.state == "warn"
