"""Build a path of an artifact into manifests: plain YAML or kustomize, confined to the artifact.

Plain YAML is read by Landlord itself, each file resolved inside the artifact.
``kustomize build`` runs in the build sandbox: it sees the artifact (read-only,
as ``/src``) and the kustomize binary, nothing else, and has no network. The
kustomization check (``sync/kustomization.py``) runs first as a second line.
"""

from __future__ import annotations

import dataclasses
import pathlib

from landlord.api import reasons
from landlord.gitops import sandbox as sandbox_mod
from landlord.gitops import yamlsafe
from landlord.gitops.paths import UnsafePathError, resolve_inside
from landlord.gitops.yamlsafe import Document, YamlError
from landlord.sync import kustomization

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# Where the artifact and kustomize appear inside the build sandbox.
SANDBOX_ROOT = "/src"
SANDBOX_KUSTOMIZE = "/kustomize"


class BuildError(YamlError):
    """The revision cannot be built; the message says which file and why."""

    def __init__(self, message: str, *, reason: str = reasons.BUILD_FAILED) -> None:
        super().__init__(message)
        self.reason = reason


def build(
    root: pathlib.Path,
    path: str,
    *,
    kustomize: pathlib.Path | None,
    sandbox: sandbox_mod.Sandbox,
) -> list[Document]:
    """The manifests at ``path`` of the artifact ``root``, in a deterministic order."""
    try:
        directory = resolve_inside(root, path or "./")
    except UnsafePathError as error:
        raise BuildError(f"spec.path: {error.message}") from None
    if not directory.is_dir():
        raise BuildError(f"spec.path {path!r} is not a folder of this revision")
    if kustomization.file_in(directory) is not None:
        if kustomize is None:
            raise BuildError("this revision needs kustomize, which is not installed")
        return _kustomize(root, directory, kustomize, sandbox)
    return _plain(root, directory)


def _plain(root: pathlib.Path, directory: pathlib.Path) -> list[Document]:
    documents: list[Document] = []
    budget = yamlsafe.NodeBudget()
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
            if resolved.stat().st_size > yamlsafe.MAX_DOCUMENT_BYTES:
                raise BuildError(f"{relative}: larger than {yamlsafe.MAX_DOCUMENT_BYTES} bytes")
            text = resolved.read_text(errors="replace")
            documents.extend(yamlsafe.load_all(text, relative, budget))
    return documents


def _kustomize(
    root: pathlib.Path,
    directory: pathlib.Path,
    kustomize: pathlib.Path,
    sandbox: sandbox_mod.Sandbox,
) -> list[Document]:
    kustomization.check_tree(root, directory)
    base = root.resolve()
    relative = directory.relative_to(base).as_posix()
    shown = f"kustomize build {relative}"
    try:
        output = sandbox.run(
            [SANDBOX_KUSTOMIZE, "build", "--load-restrictor", "LoadRestrictionsNone", relative],
            binds=[
                sandbox_mod.Bind(base, SANDBOX_ROOT),
                sandbox_mod.Bind(kustomize.resolve(), SANDBOX_KUSTOMIZE),
            ],
            cwd=SANDBOX_ROOT,
            # More than one text may hold is refused by the parser anyway: stop reading there.
            limits=dataclasses.replace(
                sandbox.limits,
                output_bytes=min(sandbox.limits.output_bytes, yamlsafe.MAX_DOCUMENT_BYTES),
            ),
            env={
                "HOME": sandbox_mod.TMP,
                "PATH": "/nonexistent",
                "KUSTOMIZE_PLUGIN_HOME": "/nonexistent",
            },
            what=shown,
        )
    except sandbox_mod.SandboxUnavailableError as error:
        raise BuildError(error.message, reason=reasons.SANDBOX_UNAVAILABLE) from None
    except sandbox_mod.SandboxError as error:
        raise BuildError(error.message) from None
    return yamlsafe.load_all(output.decode(errors="replace"), shown)
