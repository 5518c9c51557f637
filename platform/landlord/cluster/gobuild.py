"""Build control-plane binaries from the Go modules pinned under ``gomod/``.

Each group (kubernetes, etcd, kwok, kustomize) is a throwaway Go module whose
``go.mod``/``go.sum`` are committed, so every machine builds the same bytes from
the module proxy. Builds run once and land in a cache directory keyed by the
version and a digest of the module files and flags; a lock keeps two processes
from building the same group at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator

from landlord import errors
from landlord.cluster import versions

GOMOD_DIR = pathlib.Path(__file__).resolve().parent / "gomod"

# (done, total or None, what) -> None; total is an upper bound for compile steps.
ProgressFn = Callable[[int, int | None, str], None]


@dataclasses.dataclass(frozen=True)
class Group:
    """One Go module that builds one or more binaries."""

    name: str
    version: str
    # binary name -> Go package path
    commands: dict[str, str]
    ldflags: tuple[str, ...] = ()
    # Data files shipped inside a dependency module, concatenated into one
    # output file next to the binaries: output name -> (module, relative paths).
    assets: dict[str, tuple[str, tuple[str, ...]]] = dataclasses.field(default_factory=dict)

    @property
    def module_dir(self) -> pathlib.Path:
        return GOMOD_DIR / self.name

    def digest(self) -> str:
        """A short digest of what decides the bytes: module files, flags, commands."""
        sha = hashlib.sha256()
        for file in ("go.mod", "go.sum"):
            sha.update((self.module_dir / file).read_bytes())
        sha.update(json.dumps([self.ldflags, self.commands, self.assets], sort_keys=True).encode())
        return sha.hexdigest()[:12]


def _kubernetes_ldflags(version: str) -> tuple[str, ...]:
    match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+", version)
    if not match:
        raise ValueError(f"not a Kubernetes release version: {version}")
    pkg = "k8s.io/component-base/version"
    return (
        f"-X {pkg}.gitVersion={version}",
        f"-X {pkg}.gitMajor={match.group(1)}",
        f"-X {pkg}.gitMinor={match.group(2)}",
        f"-X {pkg}.gitTreeState=clean",
        f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
    )


KWOK_STAGES = "kwok-stages.yaml"
FLUX_SOURCE_CRDS = "flux-source-crds.yaml"
FLUX_KUSTOMIZE_CRDS = "flux-kustomize-crds.yaml"

GROUPS: dict[str, Group] = {
    "kubernetes": Group(
        name="kubernetes",
        version=versions.KUBERNETES,
        commands={cmd: f"k8s.io/kubernetes/cmd/{cmd}" for cmd in versions.KUBERNETES_COMMANDS},
        ldflags=_kubernetes_ldflags(versions.KUBERNETES),
    ),
    "kubernetes-node": Group(
        name="kubernetes-node",
        version=versions.KUBERNETES,
        commands={cmd: f"k8s.io/kubernetes/cmd/{cmd}" for cmd in versions.KUBERNETES_NODE_COMMANDS},
        ldflags=_kubernetes_ldflags(versions.KUBERNETES),
    ),
    "etcd": Group(
        name="etcd", version=versions.ETCD, commands={"etcd": "go.etcd.io/etcd/server/v3"}
    ),
    "kwok": Group(
        name="kwok",
        version=versions.KWOK,
        commands={"kwok": "sigs.k8s.io/kwok/cmd/kwok"},
        # kwok needs Stage objects to act like a kubelet; these are the "fast"
        # stages kwokctl uses by default, taken from the same pinned module.
        assets={
            KWOK_STAGES: (
                "sigs.k8s.io/kwok",
                (
                    "kustomize/stage/node/fast/node-initialize.yaml",
                    "kustomize/stage/pod/fast/pod-ready.yaml",
                    "kustomize/stage/pod/fast/pod-complete.yaml",
                    "kustomize/stage/pod/fast/pod-delete.yaml",
                ),
            )
        },
    ),
    "helm": Group(
        name="helm",
        version=versions.HELM,
        commands={"helm": "helm.sh/helm/v3/cmd/helm"},
        ldflags=(
            f"-X helm.sh/helm/v3/internal/version.version={versions.HELM}",
            "-X helm.sh/helm/v3/internal/version.gitTreeState=clean",
        ),
    ),
    "sops": Group(
        name="sops",
        version=versions.SOPS,
        commands={
            "sops": "github.com/getsops/sops/v3/cmd/sops",
            "age-keygen": "filippo.io/age/cmd/age-keygen",
        },
    ),
    "kustomize": Group(
        name="kustomize",
        version=versions.KUSTOMIZE,
        commands={"kustomize": "sigs.k8s.io/kustomize/kustomize/v5"},
        ldflags=(f"-X sigs.k8s.io/kustomize/api/provenance.version={versions.KUSTOMIZE}",),
    ),
    # An OCI registry on loopback: the artifacts and images tests and the demo serve.
    "registry": Group(
        name="registry",
        version=versions.REGISTRY,
        commands={"registry": "github.com/distribution/distribution/v3/cmd/registry"},
        ldflags=(
            f"-X github.com/distribution/distribution/v3/version.version={versions.REGISTRY}",
        ),
    ),
    # Flux's controllers, for the side-by-side bench only (tests/bench/bench_flux.py).
    # The CRDs come from the same pinned modules.
    "flux-source": Group(
        name="flux-source",
        version=versions.FLUX_SOURCE,
        commands={"source-controller": "github.com/fluxcd/source-controller"},
        assets={
            FLUX_SOURCE_CRDS: (
                "github.com/fluxcd/source-controller",
                tuple(
                    f"config/crd/bases/source.toolkit.fluxcd.io_{kind}.yaml"
                    for kind in (
                        "buckets",
                        "externalartifacts",
                        "gitrepositories",
                        "helmcharts",
                        "helmrepositories",
                        "ocirepositories",
                    )
                ),
            )
        },
    ),
    "flux-kustomize": Group(
        name="flux-kustomize",
        version=versions.FLUX_KUSTOMIZE,
        commands={"kustomize-controller": "github.com/fluxcd/kustomize-controller"},
        assets={
            FLUX_KUSTOMIZE_CRDS: (
                "github.com/fluxcd/kustomize-controller",
                ("config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml",),
            )
        },
    ),
}

# Which group builds a binary.
GROUP_OF: dict[str, str] = {binary: g.name for g in GROUPS.values() for binary in g.commands}


def _go_version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return (0,)
    return tuple(int(part or 0) for part in match.groups())


def _required_go(module_dir: pathlib.Path) -> str:
    match = re.search(r"^go (\S+)$", (module_dir / "go.mod").read_text(), re.MULTILINE)
    return match.group(1) if match else "1.0"


def find_go(required: str) -> str:
    """Path of a Go toolchain at least ``required``; a clear error otherwise."""
    go = shutil.which("go")
    if go is None:
        raise errors.ToolchainMissingError(
            "the Go toolchain is not on PATH; Landlord builds the control plane from Go modules",
            hint=f"install Go {required} or newer, or point KUBEBUILDER_ASSETS at a folder "
            "holding kube-apiserver, kube-controller-manager and etcd",
        )
    found = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if _go_version_tuple(found) < _go_version_tuple(required):
        raise errors.ToolchainMissingError(
            f"Go {required} or newer is needed to build the control plane, found {found or '?'}",
            hint="install a newer Go, or set KUBEBUILDER_ASSETS",
        )
    return go


def _build_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CGO_ENABLED": "0",
            # Never download another toolchain; the pinned go.sum verifies modules.
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "-mod=readonly -buildvcs=false -trimpath",
        }
    )
    return env


@contextlib.contextmanager
def _locked(path: pathlib.Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _bundle_assets(go: str, group: Group, env: dict[str, str], staging: pathlib.Path) -> None:
    for output, (module, files) in group.assets.items():
        module_dir = subprocess.run(
            [go, "list", "-m", "-f", "{{.Dir}}", module],
            cwd=group.module_dir,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        documents = [(pathlib.Path(module_dir) / file).read_text().strip() for file in files]
        (staging / output).write_text("\n---\n".join(documents) + "\n")


def _complete(target: pathlib.Path, group: Group) -> bool:
    return all((target / name).is_file() for name in (*group.commands, *group.assets))


def cache_path(cache_dir: pathlib.Path, group: Group) -> pathlib.Path:
    """Where ``group``'s binaries live once built."""
    return cache_dir / "bin" / f"{group.name}-{group.version}-{group.digest()}"


def _count_packages(go: str, group: Group, env: dict[str, str], log: pathlib.Path) -> int | None:
    with log.open("a") as out:
        listing = subprocess.run(
            [
                go,
                "list",
                "-deps",
                "-f",
                "{{.ImportPath}}",
                *group.commands.values(),
            ],
            cwd=group.module_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=out,
            text=True,
            check=False,
        )
    if listing.returncode != 0:
        return None
    return sum(1 for line in listing.stdout.splitlines() if line.strip())


def _tail(path: pathlib.Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def build(
    group: Group,
    cache_dir: pathlib.Path,
    *,
    progress: ProgressFn | None = None,
) -> pathlib.Path:
    """Build ``group`` into the cache unless it is there already; return its folder."""
    target = cache_path(cache_dir, group)
    if _complete(target, group):
        return target
    with _locked(cache_dir / "locks" / f"{group.name}.lock"):
        if _complete(target, group):
            return target  # another process built it while we waited
        go = find_go(_required_go(group.module_dir))
        env = _build_env()
        log = cache_dir / "logs" / f"build-{group.name}-{group.version}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"# building {group.name} {group.version} at {time.ctime()}\n")
        report = progress or (lambda done, total, what: None)
        report(0, None, "downloading modules")
        total = _count_packages(go, group, env, log)
        staging = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        done = 0
        with log.open("a") as out:
            for binary, package in group.commands.items():
                # One binary per `go build`: with -o DIR Go would name `.../server/v3` "server".
                argv = [
                    go,
                    "build",
                    "-v",
                    "-ldflags",
                    " ".join(("-s", "-w", *group.ldflags)),
                    "-o",
                    str(staging / binary),
                    package,
                ]
                out.write("$ " + " ".join(argv) + "\n")
                out.flush()
                with subprocess.Popen(
                    argv,
                    cwd=group.module_dir,
                    env=env,
                    stdout=out,
                    stderr=subprocess.PIPE,
                    text=True,
                ) as process:
                    assert process.stderr is not None
                    for line in process.stderr:
                        out.write(line)
                        # `go build -v` prints each package it compiles, one import path a line.
                        if (
                            line.strip()
                            and not line.startswith(("go: ", "#", "\t"))
                            and " " not in line.strip()
                        ):
                            done += 1
                            report(done, total, line.strip())
                    code = process.wait()
                if code != 0 or not (staging / binary).is_file():
                    out.flush()
                    shutil.rmtree(staging, ignore_errors=True)
                    raise errors.BinaryBuildError(
                        f"building {binary} ({group.name} {group.version}) failed "
                        f"(go build exit {code}); build log: {log}\n{_tail(log)}",
                        hint="check that the Go module proxy is reachable and the disk is not full",
                    )
        _bundle_assets(go, group, env, staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        report(total or done, total or done, "done")
        return target
