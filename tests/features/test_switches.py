"""Each feature switch off → on → off, against the real control plane.

One tenant (source polled every second, sync hourly: only a watch can explain a
quick repair) lives through five starts of Landlord:

1. sources, sync, api off;
2. drift_detection, receivers off (sources, sync, api on);
3. everything on;
4. drift_detection, receivers off;
5. sources, sync, api off;

so every switch is seen off, on, off. Off means: no controller or watch runs
(nothing is fetched, applied, repaired or served) and what only it managed is
gone (working clones, the sync's finalizer, the API's workdir).
"""

from __future__ import annotations

import json
import pathlib
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import yaml

from landlord import api, kube
from landlord.api import labels
from landlord.demo import GitServer
from landlord.settings import Settings
from landlord.wiring import api_workdir
from tests.features.conftest import Landlord
from tests.fixtures.git import PASSWORD, USER
from tests.fixtures.operator import Tenants
from tests.helpers import eventually

QUIET = 3.0  # how long "nothing happens" is watched for


def _config_map(color: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "app"},
            "data": {"color": color},
        }
    )


def _artifact(admin: kube.Kube, name: str) -> str | None:
    body = admin.get(api.API_VERSION, "GitRepository", name, name) or {}
    revision = ((body.get("status") or {}).get("artifact") or {}).get("revision")
    return str(revision) if revision else None


def _finalized(admin: kube.Kube, name: str) -> bool:
    body = admin.get(api.API_VERSION, "Kustomization", name, name) or {}
    return labels.FINALIZER in (body.get("metadata", {}).get("finalizers") or [])


def _color(admin: kube.Kube, name: str) -> str | None:
    return ((admin.get("v1", "ConfigMap", "app", name) or {}).get("data") or {}).get("color")


def _edit(admin: kube.Kube, name: str, color: str) -> None:
    admin.merge_patch("v1", "ConfigMap", "app", {"data": {"color": color}}, name)


def _request_sync(admin: kube.Kube, name: str) -> str:
    token = uuid.uuid4().hex
    patch = {"metadata": {"annotations": {labels.REQUESTED_AT: token}}}
    admin.merge_patch(api.API_VERSION, "Kustomization", name, patch, name)
    return token


def _handled(admin: kube.Kube, name: str) -> str | None:
    body = admin.get(api.API_VERSION, "Kustomization", name, name) or {}
    return (body.get("status") or {}).get("lastHandledReconcileAt")


def _get(config: Settings, path: str, method: str = "GET") -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(config.api.url + path, method=method, data=b"{}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _api_down(config: Settings) -> bool:
    try:
        urllib.request.urlopen(config.api.url + "/healthz", timeout=2)
    except urllib.error.URLError as error:
        return not isinstance(error, urllib.error.HTTPError)
    return False


def _stays(check: Any, what: str) -> None:
    """``check`` holds for QUIET seconds."""
    deadline = time.monotonic() + QUIET
    while time.monotonic() < deadline:
        assert check(), what
        time.sleep(0.2)


def _sources_and_sync_and_api_off(
    landlord: Landlord, admin: kube.Kube, git: GitServer, name: str
) -> None:
    config = landlord.config
    clones = config.sources.storage_dir / "git"
    assert not clones.exists()  # removed at start-up
    assert not config.api.workdir.exists()
    assert _api_down(config)
    eventually(lambda: not _finalized(admin, name), timeout=15, what="the finalizer removed")
    fetched = _artifact(admin, name)
    git.commit(name, {"deploy/app.yaml": _config_map("green")}, message="green")
    token = _request_sync(admin, name)
    _stays(lambda: _artifact(admin, name) == fetched, "nothing fetched with sources off")
    assert _handled(admin, name) != token, "nothing synced with sync off"
    assert not _finalized(admin, name)


def _touch_api_workdir(config: Settings) -> pathlib.Path:
    """A working clone left by an API that ran before (in Landlord's marked directory)."""
    marker = api_workdir.clones(config.api.workdir) / "clone" / "marker"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("left by a previous run")
    return marker


def test_every_switch_off_on_off(
    landlord: Landlord, admin: kube.Kube, git_server: GitServer
) -> None:
    tenants = Tenants(admin)
    name = tenants.name("feat")
    git_server.create(name)
    git_server.commit(name, {"deploy/app.yaml": _config_map("blue")}, message="blue")
    url = git_server.url(name).replace("http://", f"http://{USER}:{PASSWORD}@")
    try:
        # 1. sources, sync, api off. The tenant is provisioned, nothing is fetched.
        _touch_api_workdir(landlord.settings({}))
        (landlord.work / "sources" / "git" / "stale").mkdir(parents=True)
        landlord.start(sources=False, sync=False, api=False)
        tenants.create(
            name,
            {
                "source": {"url": url, "interval": "1s"},
                "sync": {"path": "./deploy", "interval": "1h"},
            },
        )
        tenants.ready(name)
        eventually(
            lambda: admin.get(api.API_VERSION, "Kustomization", name, name),
            what="the tenant's Kustomization",
        )
        _sources_and_sync_and_api_off(landlord, admin, git_server, name)
        assert _artifact(admin, name) is None

        # 2. drift_detection and receivers off; sources, sync, api on again.
        landlord.start(drift_detection=False, receivers=False)
        config = landlord.config
        eventually(lambda: _color(admin, name) == "green", timeout=45, what="the first apply")
        assert _finalized(admin, name)
        assert list((config.sources.storage_dir / "git").glob(f"{name}/{name}")), "a clone"
        assert _get(config, "/healthz")[0] == 200
        assert _get(config, "/v1/receivers/any", "POST")[0] == 404
        assert "/v1/receivers/{name}" not in _get(config, "/openapi.json")[1]["paths"]
        time.sleep(1.0)
        _edit(admin, name, "red")
        _stays(lambda: _color(admin, name) == "red", "no drift repair with drift detection off")

        # 3. everything on: the start-up sync repairs, then the watches repair at once.
        landlord.start()
        config = landlord.config
        eventually(lambda: _color(admin, name) == "green", timeout=30, what="the repair")
        paths = _get(config, "/openapi.json")[1]["paths"]
        assert "/v1/receivers/{name}" in paths
        status, body = _get(config, "/v1/receivers/any", "POST")
        assert status != 404 or "receiver any" in json.dumps(body)  # the receivers' own answer
        time.sleep(1.0)  # the drift watch lists what was applied
        _edit(admin, name, "red")
        eventually(lambda: _color(admin, name) == "green", timeout=10, what="the drift repair")

        # 4. drift_detection and receivers off again.
        landlord.start(drift_detection=False, receivers=False)
        config = landlord.config
        eventually(lambda: _finalized(admin, name), timeout=15, what="the sync running")
        token = _request_sync(admin, name)
        eventually(lambda: _handled(admin, name) == token, timeout=30, what="a sync")
        _edit(admin, name, "red")
        _stays(lambda: _color(admin, name) == "red", "no drift repair with drift detection off")
        assert _get(config, "/v1/receivers/any", "POST")[0] == 404
        assert "/v1/receivers/{name}" not in _get(config, "/openapi.json")[1]["paths"]

        # 5. sources, sync, api off again.
        _touch_api_workdir(config)
        assert (config.sources.storage_dir / "git").exists()
        landlord.start(sources=False, sync=False, api=False)
        _sources_and_sync_and_api_off(landlord, admin, git_server, name)
    finally:
        landlord.start()  # offboarding runs with everything on
        tenants.created = [name]
        tenants.cleanup()
        landlord.stop()
