"""``landlord up --in-cluster``: the demo with Landlord as pods, installed by its Helm chart.

On a control plane with a real node: build (or find) Landlord's image from the
checkout and import it into the node, serve the demo's repositories on the
host's address on the node network (pods cannot reach loopback), and
``helm install`` the chart with the platform repository as its bootstrap. The
operator then works under the chart's least-privilege RBAC, exactly as in a
real cluster. The onboarding API runs in the pod behind its Service, which the
host does not reach: this demo leaves the API step out.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator

import yaml

from landlord import errors, kube
from landlord.cluster import binaries, controlplane
from landlord.cluster.images import app
from landlord.cluster.images import landlord as landlord_image
from landlord.cluster.realnode import configs
from landlord.demo import up
from landlord.demo.gitserver import GitServer
from landlord.settings import Settings

StepFn = controlplane.StepFn
RELEASE = "landlord"
INSTALL_TIMEOUT = "300s"


def image(settings: Settings, step: StepFn) -> tuple[pathlib.Path, str]:
    """Landlord's image built from this checkout (cached when nothing changed)."""
    root = app.project_root()
    if root is None:
        raise errors.TerminalError(
            "--in-cluster builds Landlord's image from a checkout; none found",
            hint="run it from a Landlord checkout (or use `landlord up` without it)",
        )
    cache_dir = settings.cluster.cache_dir
    with tempfile.TemporaryDirectory(prefix="landlord-wheel-") as scratch:
        step("image", "building Landlord's wheel and image (cached when unchanged)")
        wheel = app.build_wheel(root, pathlib.Path(scratch))
        return landlord_image.build(
            cache_dir,
            wheel=wheel,
            lock=root / "requirements" / "runtime.txt",
            progress=lambda message: step("image", message),
        )


def values(settings: Settings, tag: str, platform_url: str) -> dict[str, object]:
    """The chart's values for the demo: the real node, the bootstrap, the demo's Git server."""
    host = urllib.parse.urlsplit(platform_url)
    return {
        "image": {"tag": tag},
        "nodeSelector": {configs.NODE_KIND_LABEL: "real"},
        "tolerations": [{"key": configs.REAL_NODE_TAINT, "operator": "Exists"}],
        "bootstrap": {"url": platform_url, "branch": "main", "path": "tenants"},
        "extraEnv": [
            # The demo's Git server speaks plain HTTP on the host's node-network address.
            {"name": "LANDLORD_SOURCES__ALLOWED_SCHEMES", "value": "https,ssh,http"},
            {"name": "LANDLORD_SOURCES__ALLOWED_NETWORKS", "value": f"{host.hostname}:{host.port}"},
            {"name": "LANDLORD_LIMITS__MIN_INTERVAL", "value": "1s"},
        ],
    }


def helm_install(
    settings: Settings,
    plane: controlplane.ControlPlane,
    chart: pathlib.Path,
    chart_values: dict[str, object],
) -> None:
    """``helm install --wait`` the chart into the platform namespace."""
    helm = binaries.resolve(["helm"], cache_dir=settings.cluster.cache_dir)["helm"]
    home = plane.state_dir / "helm"
    env = {
        **os.environ,
        "KUBECONFIG": str(plane.kubeconfig),
        **{f"HELM_{kind}_HOME": str(home / kind.lower()) for kind in ("CACHE", "CONFIG", "DATA")},
    }
    values_file = plane.state_dir / "chart-values.yaml"
    values_file.write_text(yaml.safe_dump(chart_values))
    done = subprocess.run(
        [
            str(helm),
            "upgrade",
            "--install",
            RELEASE,
            str(chart),
            "-n",
            settings.platform_namespace,
            "--create-namespace",
            "-f",
            str(values_file),
            "--wait",
            "--timeout",
            INSTALL_TIMEOUT,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise errors.TerminalError(
            f"helm install of {chart} failed: {(done.stderr or done.stdout).strip()[-800:]}",
            hint=f"see `kubectl -n {settings.platform_namespace} get pods` with "
            f"KUBECONFIG={plane.kubeconfig}",
        )


@contextlib.contextmanager
def running(
    settings: Settings,
    plane: controlplane.ControlPlane,
    *,
    chart: pathlib.Path,
    tenants_dir: pathlib.Path,
    policies_dir: pathlib.Path,
    stop: threading.Event,
    step: StepFn,
) -> Iterator[up.Demo]:
    """Image, Git server, chart; the tenants Ready. The Git server stops on exit."""
    if plane.real_nodes is None:
        raise errors.TerminalError("--in-cluster needs a control plane with a real node")
    if not (chart / "Chart.yaml").is_file():
        raise errors.TerminalError(
            f"no chart at {chart}", hint="run from a Landlord checkout or pass --chart"
        )
    archive, name = image(settings, step)
    controlplane.load_image(plane.state_dir, archive)
    step("image", f"{name} imported into the real node")
    host = urllib.parse.urlsplit(plane.server).hostname or "127.0.0.1"
    up.fresh_start(plane.state_dir)
    git = GitServer(plane.state_dir / "git", host=host).start()
    try:
        names = up.platform_repo(tenants_dir, git, policies_dir) if tenants_dir.is_dir() else []
        step("git", f"serving demo repositories at {git.base_url} (reachable from pods)")
        helm_install(
            settings, plane, chart, values(settings, name.rsplit(":", 1)[1], git.url("platform"))
        )
        step(
            "helm", f"chart {chart} installed as release {RELEASE} in {settings.platform_namespace}"
        )
        client = kube.connect(plane.kubeconfig)
        if names and not up.wait_ready(client, names, stop):
            step("tenants", "not all Ready yet; see the table")
        yield up.Demo(client=client, api_url="", admin=up.DEMO_ADMIN)
    finally:
        git.stop()
