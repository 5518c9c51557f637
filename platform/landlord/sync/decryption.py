"""SOPS decryption of a revision: before the build, in a private copy of the artifact.

Flux decrypts after ``kustomize build``; the ``kustomize`` CLI reorders an
object's fields and its transformers (``namespace``, labels) change them, and
either breaks the MAC SOPS keeps over the file as it was encrypted. So Landlord
decrypts every SOPS-encrypted file of the artifact first — YAML and JSON
manifests, and the ``.env``, ``.ini`` or binary files a ``secretGenerator``
reads — each with the real ``sops`` in the sandbox (:mod:`landlord.gitops.sops`),
into a private copy of the artifact (mode 0700, on a tmpfs where there is one),
builds from that copy, and deletes it before anything is validated or applied.
The artifact itself is never changed.

What was decrypted is remembered only as a :class:`Redactor`: every message the
reconcile writes afterwards is scrubbed of those values, and the run forgets
them when it ends. After the build, :func:`check` refuses a revision that still
holds an encrypted document (decryption off, or a file that was not found) and,
with ``LANDLORD_SYNC__REQUIRE_ENCRYPTED_SECRETS``, a Secret whose values did not
all come from encrypted files.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import os
import pathlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from landlord.api import reasons
from landlord.gitops import sandbox as sandbox_mod
from landlord.gitops import sops as sops_mod
from landlord.gitops import yamlsafe
from landlord.gitops.paths import UnsafePathError, resolve_inside
from landlord.gitops.redact import Redactor, TooManyValuesError
from landlord.gitops.yamlsafe import Document, YamlError
from landlord.sync import kustomization
from landlord.sync.failure import SyncError


@dataclasses.dataclass(frozen=True)
class Decrypting:
    """How the sync decrypts: the sops runner, and the platform's settings."""

    sops: sops_mod.Sops
    require_encrypted: bool = False
    max_files: int = 500
    scratch: pathlib.Path | None = None


# The largest encrypted file decrypted (a manifest is capped at 4 MiB by the YAML
# reader anyway); a larger one fails the revision, it is never applied as it is.
MAX_ENCRYPTED_BYTES = 4 * 1024 * 1024
# All of one revision's sops runs, in seconds: past it the revision fails, and each
# run has at most what is left (and never more than the sandbox's own wall limit).
DECRYPTION_BUDGET = 120.0
# Decrypted copies a crash left behind are removed when the operator starts, once
# older than this (another operator on the machine may be building from its own).
STALE_COPY = 600.0
PREFIXES = ("landlord-decrypted-", "landlord-sops-")


def scope(root: pathlib.Path, path: str) -> set[pathlib.Path] | None:
    """What the build at ``path`` reads: its folder and every path its kustomizations name.

    Only those are decrypted, so two Kustomizations of one repository (two
    environments, two keys) never need each other's key. None: the path or a
    kustomization is unusable, which the build reports in its own words.
    """
    try:
        directory = resolve_inside(root, path or "./")
        if not directory.is_dir():
            return None
        if kustomization.file_in(directory) is None:
            return {directory.resolve()}
        return kustomization.check_tree(root, directory)
    except (UnsafePathError, YamlError):
        return None


def encrypted_files(
    root: pathlib.Path, within: set[pathlib.Path] | None = None
) -> list[tuple[str, sops_mod.Format]]:
    """Every SOPS-encrypted regular file of the artifact (``within`` those paths), in order.

    Symbolic links are not followed (the file they point to, if it is inside the
    artifact, is found on its own).
    """
    found: list[tuple[str, sops_mod.Format]] = []
    base = root.resolve()
    for folder, dirs, files in os.walk(base, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = pathlib.Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            if within is not None and not _inside(path, within):
                continue
            with path.open("rb") as handle:
                data = handle.read(MAX_ENCRYPTED_BYTES + 1)
            fmt = sops_mod.format_of(name, data)
            if fmt is not None and len(data) > MAX_ENCRYPTED_BYTES:
                raise SyncError(
                    reasons.DECRYPTION_FAILED,
                    f"{path.relative_to(base).as_posix()} is SOPS-encrypted and larger than "
                    f"{MAX_ENCRYPTED_BYTES} bytes; Landlord decrypts files up to that size",
                )
            if fmt is not None:
                found.append((path.relative_to(base).as_posix(), fmt))
    return found


@contextlib.contextmanager
def decrypted(
    root: pathlib.Path,
    keys: sops_mod.Keys,
    sops: sops_mod.Sops,
    redactor: Redactor,
    *,
    path: str,
    max_files: int,
    scratch: pathlib.Path | None = None,
) -> Iterator[pathlib.Path]:
    """The artifact to build: ``root`` itself, or a private copy with its files decrypted.

    Only the files the build at ``path`` reads are decrypted (:func:`scope`). The
    copy is deleted on leaving, whatever happened.
    """
    within = scope(root, path)
    if within is None:
        yield root  # the build says what is wrong with the path or the kustomization
        return
    found = encrypted_files(root, within)
    if not found:
        yield root
        return
    if len(found) > max_files:
        raise SyncError(
            reasons.DECRYPTION_FAILED,
            f"the revision holds {len(found)} SOPS-encrypted files; the platform decrypts at "
            f"most {max_files} a revision (LANDLORD_SYNC__MAX_ENCRYPTED_FILES)",
        )
    base = root.resolve()
    decrypted: list[tuple[str, bytes]] = []
    deadline = time.monotonic() + DECRYPTION_BUDGET
    for relative, fmt in found:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SyncError(
                reasons.DECRYPTION_FAILED,
                f"decrypting the revision's {len(found)} encrypted files took longer than "
                f"{DECRYPTION_BUDGET:.0f}s; stopped at {relative}",
            )
        data = (base / relative).read_bytes()
        try:
            plain = sops.decrypt(data, fmt, keys, shown=relative, seconds=left)
        except sops_mod.DecryptionError as error:
            raise SyncError(reasons.DECRYPTION_FAILED, error.message) from None
        except sandbox_mod.SandboxUnavailableError as error:
            raise SyncError(reasons.SANDBOX_UNAVAILABLE, error.message) from None
        values, whole = secret_values(data, plain, fmt)
        try:
            redactor.add(values)
            redactor.add(whole, lines=False)
        except TooManyValuesError as error:
            raise SyncError(reasons.DECRYPTION_FAILED, str(error)) from None
        decrypted.append((relative, plain))
    folder = pathlib.Path(tempfile.mkdtemp(prefix="landlord-decrypted-", dir=scratch))
    try:
        copy = folder / "artifact"
        try:
            _copy_scope(base, copy, within)
            for relative, plain in decrypted:
                target = copy / relative
                # A fresh file where the encrypted one was (never written through a link).
                target.unlink()
                descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(plain)
        except OSError as error:
            raise SyncError(
                reasons.DECRYPTION_FAILED,
                f"the decrypted copy of the revision could not be written ({error.strerror}); "
                "the platform's LANDLORD_SYNC__DECRYPTION_DIR may be too small",
            ) from None
        decrypted.clear()
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _copy_scope(base: pathlib.Path, copy: pathlib.Path, within: set[pathlib.Path]) -> None:
    """Copy what the build reads (``within``), at the same places, and nothing else."""
    copy.mkdir()
    for place in sorted(within, key=lambda p: len(p.parts)):
        target = copy / place.relative_to(base)
        if target.exists():
            continue  # inside a folder copied already
        target.parent.mkdir(parents=True, exist_ok=True)
        if place.is_dir() and not place.is_symlink():
            shutil.copytree(place, target, symlinks=True)
        else:
            shutil.copy2(place, target, follow_symlinks=False)


def sweep(scratch: pathlib.Path | None, *, older_than: float = STALE_COPY) -> int:
    """Remove decrypted copies a killed operator left in ``scratch``; how many went."""
    folder = pathlib.Path(scratch or tempfile.gettempdir())
    removed = 0
    now = time.time()
    for entry in folder.glob("landlord-*"):
        if not entry.name.startswith(PREFIXES) or not entry.is_dir() or entry.is_symlink():
            continue
        try:
            if now - entry.stat().st_mtime < older_than:
                continue
        except OSError:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed


def _inside(path: pathlib.Path, within: set[pathlib.Path]) -> bool:
    return any(path == place or place in path.parents for place in within)


def secret_values(
    encrypted: bytes, plain: bytes, fmt: sops_mod.Format
) -> tuple[list[str], list[str]]:
    """(the values a file's encryption hid, its whole plaintext: a generator reads it whole).

    A hidden value that is base64 (a Secret's ``data``) counts decoded too.
    """
    text = plain.decode(errors="replace")
    values: list[str] = []
    if fmt in ("yaml", "json"):
        try:
            before = yamlsafe.load_all_raw(encrypted.decode(errors="replace"), "encrypted")
            after = yamlsafe.load_all_raw(text, "decrypted")
        except YamlError:
            return [text], [text]  # the build reports the file; all of it is redacted
        for old, new in zip(before, after, strict=False):
            values.extend(_hidden(old, new))
    elif fmt in ("dotenv", "ini"):
        for line in text.splitlines():
            name, sep, value = line.partition("=")
            if sep and not name.lstrip().startswith(("#", ";", "[")):
                values.append(value.strip())
    # A binary file is secret whole (``whole``): its lines are not told apart.
    values.extend(decoded for value in list(values) if (decoded := _base64_text(value)))
    return values, [text]


def _base64_text(value: str) -> str | None:
    try:
        return base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, ValueError):
        return None


def _hidden(encrypted: Any, plain: Any) -> Iterator[str]:
    """The plaintext of every leaf that is ``ENC[…]`` in the encrypted tree."""
    if isinstance(encrypted, dict) and isinstance(plain, dict):
        for key, value in encrypted.items():
            if key != "sops" and key in plain:
                yield from _hidden(value, plain[key])
    elif isinstance(encrypted, list) and isinstance(plain, list):
        for old, new in zip(encrypted, plain, strict=False):
            yield from _hidden(old, new)
    elif isinstance(encrypted, str) and encrypted.startswith("ENC[") and plain is not None:
        yield plain if isinstance(plain, str) else str(plain)


def check(
    documents: list[Document], *, decrypting: bool, redactor: Redactor, require_encrypted: bool
) -> None:
    """Refuse an encrypted document, and (when the platform requires it) a plaintext Secret."""
    for doc in documents:
        if encrypted(doc.body):
            where = f"{doc.source}: document {doc.index} ({_name(doc.body)})"
            if not decrypting:
                raise SyncError(
                    reasons.DECRYPTION_FAILED,
                    f"{where} is SOPS-encrypted and spec.decryption is not set; set "
                    "spec.decryption {provider: sops, secretRef: {name: <Secret with *.agekey>}}",
                )
            raise SyncError(
                reasons.DECRYPTION_FAILED,
                f"{where} is still SOPS-encrypted after decryption: it was not read from a "
                "file of the revision (generated, or transformed from one)",
            )
    if not (decrypting and require_encrypted):
        return
    for doc in documents:
        if doc.body.get("kind") != "Secret" or doc.body.get("apiVersion") != "v1":
            continue
        plain = [key for key, value in _secret_values(doc.body) if value and value not in redactor]
        if plain:
            raise SyncError(
                reasons.PLAINTEXT_SECRET,
                f"{doc.source}: {_name(doc.body)} holds values that were not encrypted "
                f"({', '.join(sorted(plain))}); this platform requires every Secret of a "
                "decrypting Kustomization to come from SOPS-encrypted files",
                stalled=True,
            )


def encrypted(body: dict[str, Any]) -> bool:
    """Whether a built document is still SOPS-encrypted (its metadata, or any encrypted value)."""
    return "sops" in body or _holds_cipher(body)


def _holds_cipher(value: Any) -> bool:
    """Whether any string of the document is a SOPS-encrypted value."""
    if isinstance(value, dict):
        return any(_holds_cipher(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_cipher(v) for v in value)
    return isinstance(value, str) and value.startswith("ENC[AES256_GCM,")


def _secret_values(body: dict[str, Any]) -> Iterator[tuple[str, str]]:
    data, string_data = body.get("data") or {}, body.get("stringData") or {}
    if not isinstance(data, dict) or not isinstance(string_data, dict):
        return  # not a Secret the apiserver takes: validation says so
    for key, value in data.items():
        try:
            yield str(key), base64.b64decode(str(value), validate=True).decode(errors="replace")
        except (binascii.Error, ValueError):
            yield str(key), str(value)
    for key, value in string_data.items():
        yield str(key), str(value)


def _name(body: dict[str, Any]) -> str:
    metadata = body.get("metadata") or {}
    return f"{body.get('kind')} {metadata.get('name')}"
