"""Feature switches: every flag known, an unknown one stops start-up, off means no watch."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, cast

import pytest

from landlord import settings as settings_mod
from landlord.errors import TerminalError
from landlord.tenants.features import Features, UnknownFeatureError
from landlord.wiring import api_main, composition, parts


def test_every_flag_is_on_unless_switched_off() -> None:
    features = Features.from_flags({"sync": False, "DRIFT_DETECTION": False})

    assert not features.sync
    assert not features.drift_detection
    assert features.off() == ["sync", "drift_detection"]
    assert Features.from_flags({}).off() == []


def test_an_unknown_flag_is_named_with_the_known_ones() -> None:
    with pytest.raises(UnknownFeatureError) as raised:
        Features.from_flags({"drift_detecton": False, "quotas": True})

    message = str(raised.value)
    assert "LANDLORD_FEATURES__DRIFT_DETECTON" in message
    for known in ("sources", "sync", "drift_detection", "receivers", "api", "quotas"):
        assert known in message


def test_the_operator_refuses_an_unknown_flag_before_touching_the_cluster() -> None:
    config = settings_mod.Settings()
    config.features = {"helm": True}

    with pytest.raises(UnknownFeatureError, match="LANDLORD_FEATURES__HELM"):
        composition.Operator(config, kube_client=cast(Any, None), metrics=cast(Any, None))


def test_landlord_run_stops_on_an_unknown_flag() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "landlord", "run"],
        env={**os.environ, "LANDLORD_FEATURES__SHARDING": "true", "KUBECONFIG": "/nonexistent"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert "LANDLORD_FEATURES__SHARDING" in done.stdout + done.stderr
    assert "drift_detection" in done.stdout + done.stderr


def test_drift_detection_off_keeps_no_desired_state() -> None:
    tracker = parts.NoDriftTracker()
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "n"},
    }

    tracker.record("n/k", [manifest])

    assert tracker.scopes() == set()
    assert not tracker.clean("n/k")  # so an interval tick runs the whole pipeline


def test_a_switched_off_tenant_part_leaves_its_kind_unwatched() -> None:
    operator = object.__new__(composition.Operator)
    operator.features = Features(quotas=False, network_isolation=False)

    kinds = [kind for _, kind in operator.owned_kinds()]

    assert "ResourceQuota" not in kinds
    assert "NetworkPolicy" not in kinds
    assert "LimitRange" in kinds


def test_landlord_api_refuses_to_start_switched_off() -> None:
    config = settings_mod.Settings()
    config.features = {"api": False}

    with pytest.raises(TerminalError, match="LANDLORD_FEATURES__API=false"):
        api_main.run(config)

    config.features = {"apii": False}
    with pytest.raises(UnknownFeatureError, match="LANDLORD_FEATURES__APII"):
        api_main.run(config)
