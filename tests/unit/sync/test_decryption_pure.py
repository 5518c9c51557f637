"""What a decrypting sync refuses after the build, and what it remembers (pure)."""

from __future__ import annotations

import base64
import os
import pathlib
from typing import Any

import pytest

from landlord.api import labels
from landlord.gitops.redact import Redactor, TooManyValuesError
from landlord.gitops.yamlsafe import Document
from landlord.sync import decryption
from landlord.sync.drift import DriftTracker, sealed
from landlord.sync.failure import SyncError


def _doc(body: dict[str, Any], source: str = "deploy/x.yaml") -> Document:
    return Document(source, 0, body)


def _secret(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "team"},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def test_an_encrypted_document_is_refused_with_or_without_decryption() -> None:
    encrypted = _doc({"kind": "Secret", "metadata": {"name": "db"}, "sops": {"mac": "ENC[x]"}})
    with pytest.raises(SyncError, match=r"spec\.decryption is not set") as raised:
        decryption.check(
            [encrypted], decrypting=False, redactor=Redactor(), require_encrypted=False
        )
    assert raised.value.reason == "DecryptionFailed"
    with pytest.raises(SyncError, match="still SOPS-encrypted"):
        decryption.check([encrypted], decrypting=True, redactor=Redactor(), require_encrypted=False)


def test_a_plaintext_secret_is_refused_only_when_the_platform_requires_encryption() -> None:
    redactor = Redactor(["from-an-encrypted-file"])
    mixed = _doc(_secret(a="from-an-encrypted-file", b="typed-in-clear"))
    decryption.check([mixed], decrypting=True, redactor=redactor, require_encrypted=False)
    with pytest.raises(SyncError, match=r"Secret db holds values that were not encrypted \(b\)"):
        decryption.check([mixed], decrypting=True, redactor=redactor, require_encrypted=True)
    encrypted_only = _doc(_secret(a="from-an-encrypted-file"))
    decryption.check([encrypted_only], decrypting=True, redactor=redactor, require_encrypted=True)
    # A Kustomization that decrypts nothing is not held to it.
    decryption.check([mixed], decrypting=False, redactor=redactor, require_encrypted=True)


def test_the_hidden_values_of_each_format_are_found() -> None:
    encrypted = (
        b"stringData:\n  password: ENC[AES256_GCM,data:x]\n  user: admin\n"
        b"data:\n  key: ENC[AES256_GCM,data:y]\nsops:\n  mac: ENC[y]\n"
    )
    encoded = base64.b64encode(b"from-data-key").decode()
    plain = f"stringData:\n  password: hunter2-pw\n  user: admin\ndata:\n  key: {encoded}\n"
    values, whole = decryption.secret_values(encrypted, plain.encode(), "yaml")
    assert "hunter2-pw" in values
    assert "admin" not in values
    assert "from-data-key" in values  # a Secret's data is base64: known decoded too
    assert whole == [plain]
    values, _ = decryption.secret_values(b"", b"# c\nKEY=API-KEY-123\n", "dotenv")
    assert values == ["API-KEY-123"]
    assert decryption.secret_values(b"", b"raw-token", "binary") == ([], ["raw-token"])


def test_a_whole_file_is_scrubbed_whole_not_line_by_line() -> None:
    redactor = Redactor()
    redactor.add(["kind: Secret\ntype: Opaque\n"], lines=False)
    assert redactor.scrub("kind: Secret") == "kind: Secret"


def test_only_what_the_build_reads_is_decrypted(tmp_path: pathlib.Path) -> None:
    for env in ("staging", "production"):
        (tmp_path / env).mkdir()
        (tmp_path / env / "db.yaml").write_text("sops:\n  mac: ENC[x]\n")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "api.env").write_text("A=ENC[x]\nsops_mac=ENC[y]\n")
    (tmp_path / "staging" / "kustomization.yaml").write_text(
        "resources: [db.yaml]\nsecretGenerator:\n- name: api\n  envs: [../base/api.env]\n"
    )
    within = decryption.scope(tmp_path, "./staging")
    assert within is not None
    assert decryption.encrypted_files(tmp_path, within) == [
        ("base/api.env", "dotenv"),
        ("staging/db.yaml", "yaml"),
    ]
    plain = decryption.scope(tmp_path, "./production")
    assert decryption.encrypted_files(tmp_path, plain) == [("production/db.yaml", "yaml")]


def test_encrypted_files_are_found_anywhere_in_the_artifact_but_not_through_links(
    tmp_path: pathlib.Path,
) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "db.yaml").write_text("sops:\n  mac: ENC[x]\n")
    (tmp_path / "app.env").write_text("A=ENC[x]\nsops_mac=ENC[y]\n")
    (tmp_path / "plain.yaml").write_text("kind: ConfigMap\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "base" / "db.yaml")
    assert decryption.encrypted_files(tmp_path) == [("app.env", "dotenv"), ("base/db.yaml", "yaml")]


def _owned(body: dict[str, Any], manager: str | None = None) -> dict[str, Any]:
    """``body`` as a watch sees it: labelled as the sync's, last written by ``manager``."""
    metadata = dict(body["metadata"])
    metadata["labels"] = {
        labels.KUSTOMIZATION_NAME: "sync",
        labels.KUSTOMIZATION_NAMESPACE: "team",
    }
    metadata["managedFields"] = (
        [{"manager": manager, "time": "2026-01-01T00:00:00Z"}] if manager else []
    )
    return {**body, "metadata": metadata}


def test_the_drift_tracker_holds_digests_of_secret_values_never_the_values() -> None:
    tracker = DriftTracker()
    manifest = _secret(password="hunter2-pw")
    manifest["stringData"] = {"token": "tok-123456"}
    tracker.record("team/sync", [manifest])
    held = repr(tracker._desired)
    assert "hunter2-pw" not in held
    assert "tok-123456" not in held
    assert base64.b64encode(b"hunter2-pw").decode() not in held

    same = _owned(_secret(password="hunter2-pw", token="tok-123456"))
    assert tracker.observe("MODIFIED", same) is None
    changed = _owned(_secret(password="changed", token="tok-123456"), manager="kubectl")
    drift = tracker.observe("MODIFIED", changed)
    assert drift is not None
    assert drift.manager == "kubectl"


def test_sealing_leaves_other_kinds_alone() -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}}
    assert sealed(config_map) is config_map


def test_values_are_scrubbed_in_the_forms_messages_quote_them_in() -> None:
    redactor = Redactor(['pa"ss\tword-1'])
    quoted = 'Invalid value: "pa\\"ss\\tword-1"'  # as Go and the apiserver quote it
    assert "word-1" not in redactor.scrub(quoted)
    assert "word-1" not in redactor.scrub('excerpt: pa"ss?word-1')  # as excerpts show a tab
    as_bytes = " ".join(str(b) for b in b'pa"ss\tword-1')
    assert as_bytes not in redactor.scrub(f"line 3 has invalid utf8 bytes : [{as_bytes}]")


def test_a_run_cannot_hold_more_values_than_it_can_scrub() -> None:
    with pytest.raises(TooManyValuesError):
        Redactor([f"value-{index:06d}" for index in range(20_000)])


def test_a_ciphertext_without_sops_metadata_and_odd_secrets_are_handled() -> None:
    stripped = _doc(
        {"kind": "Secret", "metadata": {"name": "db"}, "data": {"p": "ENC[AES256_GCM,data:x]"}}
    )
    with pytest.raises(SyncError, match="is SOPS-encrypted"):
        decryption.check([stripped], decrypting=False, redactor=Redactor(), require_encrypted=False)
    odd = _doc(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "stringData": ["a"]}
    )
    decryption.check([odd], decrypting=True, redactor=Redactor(), require_encrypted=True)


def test_copies_a_killed_operator_left_are_swept_once_old(tmp_path: pathlib.Path) -> None:
    old = tmp_path / "landlord-decrypted-old"
    new = tmp_path / "landlord-decrypted-new"
    mine = tmp_path / "something-else"
    for folder in (old, new, mine):
        folder.mkdir()
    os.utime(old, (1, 1))
    assert decryption.sweep(tmp_path) == 1
    assert not old.exists()
    assert new.exists()
    assert mine.exists()
