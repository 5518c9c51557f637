"""Server-side apply records field managers and detects conflicts between them."""

from __future__ import annotations

from typing import Any

import pytest

from landlord import errors, kube


def _config_map(namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": namespace},
        "data": data,
    }


def test_apply_records_each_field_manager(admin: kube.Kube, namespace: str) -> None:
    admin.apply(_config_map(namespace, {"color": "blue"}), field_manager="landlord")
    stored = admin.apply(_config_map(namespace, {"size": "L"}), field_manager="someone-else")

    managers = {entry["manager"]: entry for entry in stored["metadata"]["managedFields"]}
    assert set(managers) == {"landlord", "someone-else"}
    assert managers["landlord"]["operation"] == "Apply"
    assert "f:color" in str(managers["landlord"]["fieldsV1"])
    assert "f:size" in str(managers["someone-else"]["fieldsV1"])
    assert stored["data"] == {"color": "blue", "size": "L"}


def test_conflicting_apply_is_refused_unless_forced(admin: kube.Kube, namespace: str) -> None:
    admin.apply(_config_map(namespace, {"color": "blue"}), field_manager="landlord")

    with pytest.raises(errors.ApiError) as conflict:
        admin.apply(_config_map(namespace, {"color": "red"}), field_manager="intruder")
    assert conflict.value.conflict
    assert 'conflict with "landlord"' in conflict.value.message
    forced = admin.apply(
        _config_map(namespace, {"color": "red"}), field_manager="intruder", force=True
    )

    assert forced["data"]["color"] == "red"
    owners = [entry["manager"] for entry in forced["metadata"]["managedFields"]]
    assert owners == ["intruder"]
