"""The pure parts of `landlord build` and `landlord diff`: masking, comparison, prune plans."""

from __future__ import annotations

import base64
import pathlib
from typing import Any

import pytest

from landlord import errors
from landlord.api import kustomization as model
from landlord.api import labels, reasons
from landlord.gitops.yamlsafe import Document
from landlord.sync import compare, preview
from landlord.sync.failure import SyncError
from landlord.sync.inventory import Entry
from landlord.sync.steps import prune

OWNER = prune.owner_labels("apps", "team-a")
CIPHER = "ENC[AES256_GCM,data:Zm9v,iv:YmFy,tag:YmF6,type:str]"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "team-a"},
        "type": "Opaque",
        "data": {key: b64(value) for key, value in data.items()},
    }


def deployment(replicas: int, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "team-a", **metadata},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web"}]}}},
    }


def config_map(name: str, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "team-a", **metadata},
        "data": {"a": "1"},
    }


def spec(**fields: Any) -> model.KustomizationSpec:
    return model.KustomizationSpec.model_validate(
        {"sourceRef": {"kind": "GitRepository", "name": "apps"}, **fields}
    )


# -- comparison ------------------------------------------------------------------------


def test_what_the_apiserver_keeps_for_itself_is_not_compared() -> None:
    live = deployment(
        1,
        uid="u-1",
        resourceVersion="41",
        generation=3,
        creationTimestamp="2024-01-01T00:00:00Z",
        managedFields=[{"manager": "landlord"}],
    )
    live["status"] = {"readyReplicas": 1}
    after = deployment(1, uid="u-1", resourceVersion="42", generation=4, managedFields=[])

    assert compare.comparable(live) == deployment(1)
    assert compare.difference(live, after) == ""


def test_a_changed_field_is_a_unified_diff_of_both_sides() -> None:
    text = compare.difference(deployment(1), deployment(3))

    assert text.startswith("--- Deployment/team-a/web (live)\n+++ Deployment/team-a/web (after")
    assert "-  replicas: 1\n" in text
    assert "+  replicas: 3\n" in text


def test_secret_values_are_masked_and_say_only_whether_they_changed() -> None:
    live = secret(password="old-hunter2", user="admin", gone="bye-value")
    after = secret(password="new-hunter3", user="admin", added="hello-value")

    text = compare.difference(live, after)

    for value in ("old-hunter2", "new-hunter3", "admin", "bye-value", "hello-value"):
        assert value not in text
        assert b64(value) not in text
    assert "-  password: '*** (before)'" in text
    assert "+  password: '*** (after)'" in text
    assert "-  gone: '***'" in text
    assert "+  added: '***'" in text
    assert not [line for line in text.splitlines() if "user" in line and line[0] in "+-"]


def test_a_secret_whose_values_stay_shows_no_difference() -> None:
    assert compare.difference(secret(password="same"), secret(password="same")) == ""


def test_kubectls_copy_of_a_secret_is_masked_too() -> None:
    live = secret(password="p1")
    live["metadata"]["annotations"] = {compare.LAST_APPLIED: '{"data":{"password":"cDE="}}'}
    after = secret(password="p2")
    after["metadata"]["annotations"] = {compare.LAST_APPLIED: '{"data":{"password":"cDI="}}'}

    text = compare.difference(live, after)

    assert "cDE=" not in text
    assert "cDI=" not in text
    assert "*** (before)" in text
    assert "*** (after)" in text


def test_only_v1_secrets_are_masked() -> None:
    live, after = config_map("a"), config_map("a")
    assert compare.masked(live, after) == (live, after)


def test_sops_documents_lose_their_metadata_and_ciphertext() -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"password": CIPHER, "nested": [CIPHER, "plain"]},
        "sops": {"mac": CIPHER, "age": []},
    }

    masked = compare.sops_masked(body)

    assert "sops" not in masked
    assert masked["stringData"] == {
        "password": compare.PLACEHOLDER,
        "nested": [compare.PLACEHOLDER, "plain"],
    }
    assert body["sops"]  # the original is left as it is


def test_placeholders_are_dry_run_with_the_live_values() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "team-a"},
        "stringData": {"password": compare.PLACEHOLDER, "user": "admin"},
        "data": {"token": compare.PLACEHOLDER},
    }
    live = secret(password="live-secret")

    prepared = compare.with_live_values(manifest, live)

    assert prepared["data"] == {
        "password": b64("live-secret"),
        "token": b64(compare.PLACEHOLDER),
    }
    assert prepared["stringData"] == {"user": "admin"}
    assert compare.placeholder_keys(manifest) == ["password", "token"]
    assert compare.with_live_values(config_map("a"), None) == config_map("a")


# -- one object's outcome ----------------------------------------------------------------


def test_an_object_the_live_one_holds_is_unchanged_and_an_opted_out_one_skipped() -> None:
    opted = deployment(1, annotations={labels.RECONCILE: "disabled"})

    assert preview.outcome(deployment(1), deployment(1), None, force=False) == preview.Change(
        Entry.of(deployment(1)), "unchanged"
    )
    skipped = preview.outcome(deployment(3), opted, None, force=False)
    assert isinstance(skipped, preview.Change)
    assert skipped.action == "skipped"
    assert not skipped.changes


def test_created_drifted_and_unchanged_after_the_dry_run() -> None:
    created = preview.outcome(config_map("new"), None, config_map("new"), force=False)
    drifted = preview.outcome(deployment(3), deployment(1), deployment(3), force=False)
    same = preview.outcome(deployment(1), deployment(1, uid="x"), deployment(1), force=False)

    assert isinstance(created, preview.Change)
    assert created.action == "created"
    assert isinstance(drifted, preview.Change)
    assert drifted.action == "drifted"
    assert "+  replicas: 3" in drifted.diff
    assert isinstance(same, preview.Change)
    assert same.action == "unchanged"
    assert not same.diff


def test_a_refused_dry_run_is_the_failure_the_sync_reports() -> None:
    refused = errors.ApiError('configmaps "x" is forbidden: nope', status=403)

    found = preview.outcome(config_map("x"), None, refused, force=False)

    assert found == 'ConfigMap team-a/x: configmaps "x" is forbidden: nope'


def test_an_immutable_field_needs_force_as_in_the_sync() -> None:
    immutable = errors.ApiError("spec.selector: field is immutable", status=422)

    refused = preview.outcome(deployment(3), deployment(1), immutable, force=False)
    forced = preview.outcome(deployment(3), deployment(1), immutable, force=True)
    annotated = preview.outcome(
        deployment(3, annotations={labels.FORCE: "enabled"}), deployment(1), immutable, force=False
    )

    assert isinstance(refused, str)
    assert "set spec.force" in refused
    assert isinstance(forced, preview.Change)
    assert forced.action == "recreated"
    assert forced.changes
    assert isinstance(annotated, preview.Change)
    assert labels.FORCE in annotated.note


def test_an_encrypted_object_says_its_values_were_not_compared() -> None:
    found = preview.outcome(secret(a="1"), secret(a="1"), None, force=False, encrypted=True)

    assert isinstance(found, preview.Change)
    assert found.note == preview.ENCRYPTED_NOTE


# -- prune -----------------------------------------------------------------------------------


def test_prune_deletes_only_what_is_ours_and_not_opted_out() -> None:
    stale = [Entry("team-a", name, "", "ConfigMap", "v1") for name in "abcdef"]
    ours = {"labels": dict(OWNER)}
    lives: list[dict[str, Any] | errors.ApiError | None] = [
        config_map("a", **ours),
        config_map("b", labels={**OWNER, labels.PRUNE: "disabled"}),
        config_map("c", labels={"app": "other"}),
        None,
        config_map("e", **ours, deletionTimestamp="2024-01-01T00:00:00Z"),
        errors.ApiError("forbidden", status=403),
    ]

    plan = preview.prune_plan(stale, lives, OWNER, enabled=True)

    assert [(c.entry.name, c.action) for c in plan] == [
        ("a", "pruned"),
        ("b", "kept"),
        ("c", "kept"),
        ("d", "skipped"),
        ("e", "skipped"),
        ("f", "kept"),
    ]
    assert [c.changes for c in plan] == [True, False, False, False, False, False]
    assert labels.PRUNE in plan[1].note
    assert "never pruned" in plan[2].note
    assert "the prune would fail" in plan[5].note


def test_nothing_is_pruned_with_prune_false() -> None:
    stale = [Entry("team-a", "a", "", "ConfigMap", "v1")]

    plan = preview.prune_plan(stale, [None], OWNER, enabled=False)

    assert plan == [preview.Change(stale[0], "kept", note="spec.prune is false")]


def test_the_prune_steps_verdict() -> None:
    assert prune.verdict(None, OWNER) == "skipped"
    assert prune.verdict(config_map("a", labels=dict(OWNER)), OWNER) == "delete"
    assert prune.verdict(config_map("a", labels={}), OWNER) == "skipped"
    assert prune.verdict(config_map("a", annotations={labels.PRUNE: "disabled"}), OWNER) == (
        "skipped"
    )


def test_a_diff_with_only_kept_objects_has_no_changes() -> None:
    entry = Entry("team-a", "a", "", "ConfigMap", "v1")
    kept = preview.Diff([preview.Change(entry, "kept"), preview.Change(entry, "unchanged")], [])
    pruned = preview.Diff([preview.Change(entry, "pruned")], [])

    assert not kept.changed
    assert pruned.changed
    assert pruned.changes[0].to_dict() == {
        "object": "ConfigMap/team-a/a",
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "namespace": "team-a",
        "name": "a",
        "action": "pruned",
    }


# -- what is built -----------------------------------------------------------------------------


def test_a_local_folder_builds_within_its_git_checkout(tmp_path: pathlib.Path) -> None:
    checkout, plain = tmp_path / "checkout", tmp_path / "plain"
    (checkout / ".git").mkdir(parents=True)
    (checkout / "apps" / "prod").mkdir(parents=True)
    plain.mkdir()

    assert preview.local_root(checkout / "apps" / "prod") == (checkout.resolve(), "./apps/prod")
    assert preview.local_root(checkout) == (checkout.resolve(), "./")
    assert preview.local_root(plain) == (plain.resolve(), "./")
    with pytest.raises(SyncError):
        preview.local_root(tmp_path / "missing")


def test_encrypted_documents_fail_without_decryption_as_in_the_sync() -> None:
    encrypted = Document("secret.yaml", 0, {**secret(), "sops": {"mac": CIPHER}})

    with pytest.raises(SyncError) as raised:
        preview._encrypted([encrypted], spec())

    assert raised.value.reason == reasons.DECRYPTION_FAILED


def test_encrypted_documents_become_placeholders_with_decryption() -> None:
    plain = Document("cm.yaml", 0, config_map("a"))
    encrypted = Document(
        "secret.yaml", 0, {**secret(), "stringData": {"p": CIPHER}, "sops": {"mac": CIPHER}}
    )

    documents, found = preview._encrypted(
        [plain, encrypted],
        spec(decryption={"provider": "sops", "secretRef": {"name": "sops-age"}}),
    )

    assert found == {1}
    assert documents[0] is plain
    assert "sops" not in documents[1].body
    assert documents[1].body["stringData"] == {"p": compare.PLACEHOLDER}
