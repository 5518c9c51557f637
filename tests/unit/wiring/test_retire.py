"""What a switched-off feature left is removed; start-up goes on, and no one else's data goes."""

from __future__ import annotations

import logging
import pathlib
from typing import Any, cast

import pytest

from landlord import errors, kube
from landlord import settings as settings_mod
from landlord.api import labels
from landlord.tenants.features import Features
from landlord.wiring import api_workdir, retire


class StandIn:
    """Lists two finalized objects of each kind; refuses (422) the patch of the first."""

    def __init__(self) -> None:
        self.patched: list[tuple[str, str]] = []

    def list_objects(self, api_version: str, kind: str) -> list[dict[str, Any]]:
        return [
            {
                "metadata": {
                    "name": name,
                    "namespace": "team-a",
                    "resourceVersion": "1",
                    "finalizers": [labels.FINALIZER],
                }
            }
            for name in ("refused", "released")
        ]

    def merge_patch(
        self, api_version: str, kind: str, name: str, patch: dict[str, Any], namespace: str
    ) -> dict[str, Any]:
        if name == "refused":
            raise errors.ApiError("admission webhook said no", status=422, api_reason="Invalid")
        self.patched.append((kind, name))
        return {}


def test_one_object_that_cannot_be_released_does_not_stop_start_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = StandIn()

    with caplog.at_level(logging.WARNING):
        removed = retire.sync_finalizers(cast(kube.Kube, client))

    assert removed == 2
    assert client.patched == [("Kustomization", "released"), ("HelmRelease", "released")]
    assert "Kustomization team-a/refused" in caplog.text
    assert "1 Kustomization(s) keep the sync's finalizer" in caplog.text
    assert "1 HelmRelease(s) keep the sync's finalizer" in caplog.text


def _config(tmp_path: pathlib.Path, workdir: pathlib.Path) -> settings_mod.Settings:
    config = settings_mod.Settings()
    config.sources.storage_dir = tmp_path / "sources"
    config.api.workdir = workdir
    return config


def test_api_off_removes_only_landlords_clones_from_a_shared_workdir(
    tmp_path: pathlib.Path,
) -> None:
    shared = tmp_path / "shared"
    (shared / "other-team").mkdir(parents=True)
    (shared / "other-team" / "data").write_text("not Landlord's")
    (api_workdir.clones(shared) / "0123456789abcdef" / "tree").mkdir(parents=True)
    config = _config(tmp_path, shared)

    retire.leftovers(config, Features.from_flags({"api": False}), cast(kube.Kube, None))

    assert (shared / "other-team" / "data").read_text() == "not Landlord's"
    assert not (shared / api_workdir.CLONES).exists()


def test_api_off_removes_a_workdir_left_empty(tmp_path: pathlib.Path) -> None:
    workdir = tmp_path / "api"
    (api_workdir.clones(workdir) / "0123456789abcdef").mkdir()

    assert retire.api_clones(_config(tmp_path, workdir))

    assert not workdir.exists()


def test_api_off_keeps_a_clones_directory_it_did_not_make(tmp_path: pathlib.Path) -> None:
    workdir = tmp_path / "api"
    (workdir / api_workdir.CLONES).mkdir(parents=True)
    (workdir / api_workdir.CLONES / "mine").write_text("someone else's")

    assert not retire.api_clones(_config(tmp_path, workdir))

    assert (workdir / api_workdir.CLONES / "mine").exists()


@pytest.mark.parametrize("where", ["same", "inside", "around"])
def test_api_off_refuses_a_workdir_overlapping_the_sources_storage(
    tmp_path: pathlib.Path, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    storage = tmp_path / "sources"
    workdir = {"same": storage, "inside": storage / "api", "around": tmp_path}[where]
    clones = api_workdir.clones(workdir)
    config = _config(tmp_path, workdir)

    with caplog.at_level(logging.WARNING):
        assert not retire.api_clones(config)

    assert clones.exists()
    assert "overlaps LANDLORD_SOURCES__STORAGE_DIR" in caplog.text
