"""``helm`` run confined, with a short-lived token of the tenant's service account.

Every Helm command Landlord runs goes through the build sandbox
(:mod:`landlord.gitops.sandbox`): its own filesystem (the helm binary, the
verified chart archive, a private folder with the values, the manifests and a
kubeconfig), no environment but what is passed, rlimits and a wall clock. The
kubeconfig holds a TokenRequest token of the tenant's service account and
nothing else: Helm never sees the operator's credentials, so whatever a chart
makes Helm do, the apiserver judges it as the tenant (the issue asked for
``--kube-as-user``; impersonation would have handed Helm the operator's own
credentials, which may impersonate anyone). The one thing the sandbox shares
is the network, for the apiserver.

The manifests Helm installs are the ones Landlord validated: ``upgrade`` runs
with a post-renderer that replaces what Helm rendered by that validated file
(``/usr/bin/cat FILE``), so a chart that renders differently at install time
(``lookup``, randomness) cannot slip anything past the checks.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
import tempfile
from collections.abc import Sequence
from typing import Any

import yaml

from landlord import errors
from landlord.gitops import sandbox as sandbox_mod

HELM = "/landlord/helm"
KUSTOMIZE = "/landlord/kustomize"
INPUT = "/in"
CHART = "/chart/chart.tgz"
CAT = "/usr/bin/cat"
# Releases Helm keeps in storage (Secrets in the storage namespace).
HISTORY_MAX = 10
# Output of one command: a release's JSON holds its manifest and hooks.
OUTPUT_BYTES = 32 * 1024**2


class HelmError(errors.RetryableError):
    """A Helm command failed; the message holds the excerpt of what Helm said."""

    def __init__(self, message: str, *, reason: str = "HelmFailed") -> None:
        super().__init__(message)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Identity:
    """What Helm talks to the apiserver with: the tenant's token, never the operator's."""

    server: str
    token: str
    ca_pem: bytes | None
    verify: bool = True

    def kubeconfig(self, namespace: str) -> str:
        cluster: dict[str, Any] = {"server": self.server}
        if not self.verify:
            cluster["insecure-skip-tls-verify"] = True
        elif self.ca_pem:
            import base64

            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        return yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "cluster", "cluster": cluster}],
                "users": [{"name": "tenant", "user": {"token": self.token}}],
                "contexts": [
                    {
                        "name": "tenant",
                        "context": {"cluster": "cluster", "user": "tenant", "namespace": namespace},
                    }
                ],
                "current-context": "tenant",
            }
        )


@dataclasses.dataclass(frozen=True)
class Rendered:
    """What a release would install: its manifest (non-hook objects) and its hooks."""

    manifest: str
    hooks: tuple[str, ...]
    tests: tuple[str, ...]
    version: int  # the release version it would be: 1 is an install


class Helm:
    """Runs ``helm`` commands for one operator, each confined and bounded."""

    def __init__(
        self,
        binary: pathlib.Path,
        sandbox: sandbox_mod.Sandbox,
        workdir: pathlib.Path,
        kustomize: pathlib.Path | None = None,
    ) -> None:
        self.binary = binary.resolve()
        self.sandbox = sandbox
        self.workdir = workdir
        self.kustomize_binary = kustomize.resolve() if kustomize is not None else None

    def kustomize(self, objects: str, kustomization: dict[str, Any], *, what: str) -> str:
        """Apply a post-renderer's patches and images to ``objects`` with ``kustomize build``.

        Confined like every build: the folder holds only the objects and the
        kustomization (``resources: [objects.yaml]`` plus the tenant's inline patches),
        no network, no credentials.
        """
        if self.kustomize_binary is None:
            raise HelmError(
                "kustomize is not built on this operator (run `landlord cluster build`)",
                reason="SandboxUnavailable",
            )
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder = pathlib.Path(tempfile.mkdtemp(prefix="post-", dir=self.workdir))
        try:
            (folder / "objects.yaml").write_text(objects)
            (folder / "kustomization.yaml").write_text(
                yaml.safe_dump({"resources": ["objects.yaml"], **kustomization})
            )
            os.chmod(folder, 0o755)  # noqa: S103 - its parent is the operator's 0700 workdir
            try:
                out = self.sandbox.run(
                    [KUSTOMIZE, "build", "."],
                    binds=[
                        sandbox_mod.Bind(self.kustomize_binary, KUSTOMIZE),
                        sandbox_mod.Bind(folder, INPUT),
                    ],
                    cwd=INPUT,
                    env={"HOME": sandbox_mod.TMP, "PATH": "/nonexistent"},
                    what=what,
                )
            except sandbox_mod.SandboxUnavailableError as error:
                raise HelmError(error.message, reason="SandboxUnavailable") from None
            except sandbox_mod.SandboxError as error:
                raise HelmError(error.message, reason="PostRenderFailed") from None
            return out.decode(errors="replace")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- commands ------------------------------------------------------------------

    def template(
        self,
        *,
        release: str,
        namespace: str,
        chart: pathlib.Path,
        values: dict[str, Any],
        timeout: float,
    ) -> str:
        """``helm template``: every object, hooks and tests too, without the network.

        The first look at a chart: no cluster is contacted (no token, no network
        in the sandbox), so an object out of bounds is refused before the chart
        has reached the apiserver in any way.
        """
        out = self._run(
            [
                "template",
                release,
                CHART,
                "--values",
                f"{INPUT}/values.yaml",
                "--namespace",
                namespace,
            ],
            identity=None,
            namespace=namespace,
            chart=chart,
            files={"values.yaml": _yaml(values)},
            timeout=timeout,
            what=f"helm template of {namespace}/{release}",
        )
        return out.decode(errors="replace")

    def render(
        self,
        identity: Identity,
        *,
        release: str,
        namespace: str,
        chart: pathlib.Path,
        values: dict[str, Any],
        timeout: float,
        disable_hooks: bool = False,
    ) -> Rendered:
        """``helm upgrade --install --dry-run=server`` as the tenant: what the install would be.

        ``lookup`` is answered as the tenant, and the release's next version is known.
        """
        out = self._run(
            [
                "upgrade",
                release,
                CHART,
                "--install",
                "--dry-run=server",
                "--skip-crds",
                *(["--no-hooks"] if disable_hooks else []),
                "--values",
                f"{INPUT}/values.yaml",
                "--output",
                "json",
                *self._common(namespace, timeout),
            ],
            identity=identity,
            namespace=namespace,
            chart=chart,
            files={"values.yaml": _yaml(values)},
            timeout=timeout,
            what=f"helm render of {namespace}/{release}",
        )
        body = _json(out, "helm upgrade --dry-run")
        hooks: list[str] = []
        tests: list[str] = []
        for hook in body.get("hooks") or []:
            manifest = str(hook.get("manifest") or "")
            (tests if "test" in (hook.get("events") or []) else hooks).append(manifest)
        return Rendered(
            str(body.get("manifest") or ""),
            tuple(hooks),
            tuple(tests),
            int(body.get("version") or 1),
        )

    def upgrade(
        self,
        identity: Identity,
        *,
        release: str,
        namespace: str,
        chart: pathlib.Path,
        values: dict[str, Any],
        manifests: str,
        timeout: float,
        flags: Sequence[str] = (),
    ) -> dict[str, Any]:
        """``helm upgrade --install`` whose objects are exactly ``manifests``; the release."""
        out = self._run(
            [
                "upgrade",
                release,
                CHART,
                "--install",
                "--values",
                f"{INPUT}/values.yaml",
                "--post-renderer",
                CAT,
                "--post-renderer-args",
                f"{INPUT}/manifests.yaml",
                # A chart's crds/ folder never passes a post-renderer: never installed
                # (cluster-scoped; the platform installs CRDs, tenants cannot).
                "--skip-crds",
                "--history-max",
                str(HISTORY_MAX),
                *flags,
                "--output",
                "json",
                *self._common(namespace, timeout),
            ],
            identity=identity,
            namespace=namespace,
            chart=chart,
            files={"values.yaml": _yaml(values), "manifests.yaml": manifests.encode()},
            timeout=timeout,
            what=f"helm upgrade --install of {namespace}/{release}",
        )
        return _json(out, "helm upgrade")

    def rollback(
        self,
        identity: Identity,
        *,
        release: str,
        namespace: str,
        timeout: float,
        flags: Sequence[str] = (),
    ) -> None:
        """``helm rollback`` to the previous successful release."""
        self._run(
            ["rollback", release, *flags, *self._common(namespace, timeout)],
            identity=identity,
            namespace=namespace,
            timeout=timeout,
            what=f"helm rollback of {namespace}/{release}",
        )

    def uninstall(
        self,
        identity: Identity,
        *,
        release: str,
        namespace: str,
        timeout: float,
        flags: Sequence[str] = (),
    ) -> None:
        """``helm uninstall`` (a release that is not there is not an error)."""
        self._run(
            ["uninstall", release, "--ignore-not-found", *flags, *self._common(namespace, timeout)],
            identity=identity,
            namespace=namespace,
            timeout=timeout,
            what=f"helm uninstall of {namespace}/{release}",
        )

    def test(self, identity: Identity, *, release: str, namespace: str, timeout: float) -> None:
        """``helm test``: HelmError when a test hook fails."""
        self._run(
            ["test", release, *self._common(namespace, timeout)],
            identity=identity,
            namespace=namespace,
            timeout=timeout,
            what=f"helm test of {namespace}/{release}",
            reason="TestFailed",
        )

    def history(
        self, identity: Identity, *, release: str, namespace: str, timeout: float
    ) -> list[dict[str, Any]]:
        """``helm history``: the releases Helm keeps, oldest first (empty: none)."""
        try:
            out = self._run(
                [
                    "history",
                    release,
                    "--max",
                    str(HISTORY_MAX),
                    "--output",
                    "json",
                    *self._common(namespace, None),
                ],
                identity=identity,
                namespace=namespace,
                timeout=timeout,
                what=f"helm history of {namespace}/{release}",
            )
        except HelmError as error:
            if "release: not found" in error.message:
                return []
            raise
        found = json.loads(out or b"[]")
        return list(found) if isinstance(found, list) else []

    # -- running -------------------------------------------------------------------

    @staticmethod
    def _common(namespace: str, timeout: float | None) -> list[str]:
        """Namespace, kubeconfig and (for commands that wait) ``--timeout``."""
        found = ["--namespace", namespace, "--kubeconfig", f"{INPUT}/kubeconfig"]
        if timeout is not None:
            found += ["--timeout", f"{max(1, int(timeout))}s"]
        return found

    def _run(
        self,
        argv: list[str],
        *,
        identity: Identity | None,
        namespace: str,
        timeout: float,
        what: str,
        chart: pathlib.Path | None = None,
        files: dict[str, bytes] | None = None,
        reason: str = "HelmFailed",
    ) -> bytes:
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder = pathlib.Path(tempfile.mkdtemp(prefix="helm-", dir=self.workdir))
        try:
            given = dict(files or {})
            if identity is not None:
                given["kubeconfig"] = identity.kubeconfig(namespace).encode()
            for name, data in given.items():
                path = folder / name
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            # The sandbox's user (65534) reads the folder; nobody else on the host does.
            os.chmod(folder, 0o755)  # noqa: S103 - its parent is the operator's 0700 workdir
            binds = [
                sandbox_mod.Bind(self.binary, HELM),
                sandbox_mod.Bind(folder, INPUT),
            ]
            if chart is not None:
                binds.append(sandbox_mod.Bind(chart.resolve(), CHART))
            limits = dataclasses.replace(
                self.sandbox.limits,
                wall_seconds=wall_seconds(timeout),
                cpu_seconds=max(self.sandbox.limits.cpu_seconds, int(wall_seconds(timeout))),
                output_bytes=OUTPUT_BYTES,
            )
            try:
                return self.sandbox.run(
                    [HELM, *argv],
                    binds=binds,
                    cwd=sandbox_mod.TMP,
                    env={
                        "HOME": sandbox_mod.TMP,
                        "HELM_CACHE_HOME": f"{sandbox_mod.TMP}/cache",
                        "HELM_CONFIG_HOME": f"{sandbox_mod.TMP}/config",
                        "HELM_DATA_HOME": f"{sandbox_mod.TMP}/data",
                        "PATH": "/usr/bin:/bin",
                    },
                    limits=limits,
                    system=True,
                    network=identity is not None,
                    what=what,
                )
            except sandbox_mod.SandboxUnavailableError as error:
                raise HelmError(error.message, reason="SandboxUnavailable") from None
            except sandbox_mod.SandboxError as error:
                raise HelmError(
                    _quiet(error.message, identity.token if identity else ""), reason=reason
                ) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def wall_seconds(timeout: float) -> float:
    """How long one helm command may run (a few times ``--timeout``, plus a margin).

    Helm's ``--timeout`` bounds each of its waits (a hook, a rollback's), not the command.
    """
    return 3 * timeout + 60


def _yaml(values: dict[str, Any]) -> bytes:
    return yaml.safe_dump(values, sort_keys=True).encode()


def _json(out: bytes, what: str) -> dict[str, Any]:
    try:
        body = json.loads(out)
    except ValueError:
        raise HelmError(f"{what} printed something that is not JSON") from None
    if not isinstance(body, dict):
        raise HelmError(f"{what} printed JSON that is not an object")
    return body


def _quiet(message: str, token: str) -> str:
    """Helm's message, without the token should it ever echo it."""
    return message.replace(token, "[token]") if token else message
