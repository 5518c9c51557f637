"""Build a path of an artifact into manifests: plain YAML or kustomize, confined to the artifact."""

from __future__ import annotations

import os
import pathlib
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

from landlord.gitops.paths import UnsafePathError, resolve_inside
from landlord.sync import yamlsafe
from landlord.sync.yamlsafe import Document, YamlError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# Fields of a kustomization whose entries are local paths (or remote bases).
PATH_LISTS = ("resources", "components", "bases", "crds", "patchesStrategicMerge", "configurations")
FORBIDDEN_FIELDS = ("helmCharts", "helmGlobals", "generators", "transformers", "validators")


class BuildError(YamlError):
    """The revision cannot be built; the message says which file and why."""


def build(
    root: pathlib.Path, path: str, *, kustomize: pathlib.Path | None, timeout: float = 60.0
) -> list[Document]:
    """The manifests at ``path`` of the artifact ``root``, in a deterministic order."""
    try:
        directory = resolve_inside(root, path or "./")
    except UnsafePathError as error:
        raise BuildError(f"spec.path: {error.message}") from None
    if not directory.is_dir():
        raise BuildError(f"spec.path {path!r} is not a folder of this revision")
    if any((directory / name).is_file() for name in KUSTOMIZATION_FILES):
        if kustomize is None:
            raise BuildError("this revision needs kustomize, which is not installed")
        return _kustomize(root, directory, kustomize, timeout)
    return _plain(root, directory)


def _plain(root: pathlib.Path, directory: pathlib.Path) -> list[Document]:
    documents: list[Document] = []
    for file in sorted(directory.rglob("*"), key=lambda p: p.relative_to(directory).as_posix()):
        relative = file.relative_to(root).as_posix()
        if file.suffix not in MANIFEST_SUFFIXES or any(
            part.startswith(".") for part in file.relative_to(directory).parts
        ):
            continue
        try:
            resolved = resolve_inside(root, relative)
        except UnsafePathError as error:
            raise BuildError(f"{relative}: {error.message}") from None
        if resolved.is_file():
            documents.extend(yamlsafe.load_all(resolved.read_text(errors="replace"), relative))
    return documents


def _kustomization_file(directory: pathlib.Path) -> pathlib.Path | None:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


def _check_kustomizations(root: pathlib.Path, start: pathlib.Path) -> None:
    """Refuse remote bases, plugins and paths that leave the artifact, before running.

    Walks the kustomization at ``start`` and every local folder it refers to.
    """
    base = root.resolve()
    pending, seen = [start.resolve()], set()
    while pending:
        directory = pending.pop()
        if directory in seen:
            continue
        seen.add(directory)
        file = _kustomization_file(directory)
        if file is None:
            continue
        relative = file.relative_to(base).as_posix()
        for body in yamlsafe.load_all_raw(file.read_text(errors="replace"), relative):
            for field in FORBIDDEN_FIELDS:
                if body.get(field):
                    raise BuildError(
                        f"{relative}: '{field}' is not allowed (no plugins, "
                        "no Helm charts fetched at build time)"
                    )
            for entry in _paths(body):
                if "://" in entry or "?ref=" in entry or entry.startswith(("git@", "github.com/")):
                    raise BuildError(
                        f"{relative}: remote base {entry!r} is not allowed; "
                        "vendor it into the repository"
                    )
                target = os.path.normpath(os.path.join(os.path.dirname(relative), entry))
                try:
                    resolved = resolve_inside(root, target)
                except UnsafePathError:
                    raise BuildError(
                        f"{relative}: {entry!r} points outside the repository"
                    ) from None
                if resolved.is_dir():
                    pending.append(resolved)


def _paths(body: dict[str, Any]) -> Iterator[str]:
    for field in PATH_LISTS:
        for entry in body.get(field) or []:
            if isinstance(entry, str):
                yield entry
    for patch in body.get("patches") or []:
        if isinstance(patch, dict) and isinstance(patch.get("path"), str):
            yield patch["path"]
    for generator in (body.get("configMapGenerator") or []) + (body.get("secretGenerator") or []):
        if isinstance(generator, dict):
            for key in ("files", "envs"):
                for entry in generator.get(key) or []:
                    if isinstance(entry, str):
                        yield entry.split("=", 1)[-1]
            if isinstance(generator.get("env"), str):
                yield generator["env"]


def _kustomize(
    root: pathlib.Path, directory: pathlib.Path, kustomize: pathlib.Path, timeout: float
) -> list[Document]:
    _check_kustomizations(root, directory)
    relative = (
        directory.relative_to(root.resolve()).as_posix()
        if directory.is_absolute()
        else (str(directory))
    )
    with tempfile.TemporaryDirectory(prefix="kustomize-home-") as home:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "XDG_CONFIG_HOME": home,
            "KUSTOMIZE_PLUGIN_HOME": os.devnull,
        }
        try:
            result = subprocess.run(
                [str(kustomize), "build", "--load-restrictor", "LoadRestrictionsNone", relative],
                cwd=root.resolve(),
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BuildError(
                f"kustomize build {relative} took longer than {timeout:.0f}s"
            ) from None
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"
        raise BuildError(f"kustomize build {relative}: {message}")
    return yamlsafe.load_all(result.stdout, f"kustomize build {relative}")
