"""What `landlord build` and `landlord diff` print, from a preview's result (no cluster)."""

from __future__ import annotations

from typing import Any

import yaml
from click.testing import CliRunner

from landlord.api import kustomization as model
from landlord.cli import build, diff
from landlord.cli.main import cli
from landlord.sync import compare, preview
from landlord.sync.inventory import Entry


def built(*manifests: dict[str, Any], encrypted: tuple[str, ...] = ()) -> preview.Built:
    body = {"metadata": {"name": "apps", "namespace": "team-a"}, "spec": {}}
    spec = model.KustomizationSpec.model_validate(
        {"sourceRef": {"kind": "GitRepository", "name": "apps"}}
    )
    return preview.Built(
        body=body,
        spec=spec,
        tenant=None,  # type: ignore[arg-type]  # not used by the rendering
        account="team-a/landlord-reconciler",
        revision="main@sha1:abc",
        manifests=list(manifests),
        encrypted=list(encrypted),
    )


def entry(name: str) -> Entry:
    return Entry("team-a", name, "", "ConfigMap", "v1")


def test_the_summary_counts_changes_only() -> None:
    found = preview.Diff(
        [
            preview.Change(entry("a"), "pruned"),
            preview.Change(entry("b"), "created"),
            preview.Change(entry("c"), "kept", note="spec.prune is false"),
            preview.Change(entry("d"), "unchanged"),
        ],
        [],
    )

    line = diff.summary(built(), found)

    assert line.startswith("2 changes (1 created, 1 pruned) for Kustomization team-a/apps")
    assert "dry-run as service account team-a/landlord-reconciler; nothing was applied" in line


def test_no_changes_says_so() -> None:
    found = preview.Diff([preview.Change(entry("d"), "unchanged")], [])

    assert diff.summary(built(), found).startswith(
        "no changes: Kustomization team-a/apps matches main@sha1:abc"
    )
    assert diff.as_data(built(), found)["changed"] is False


def test_build_prints_documents_and_says_what_was_not_decrypted() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "team-a"},
        "stringData": {"password": compare.PLACEHOLDER},
    }
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "team-a"}}

    text = build.render_yaml(built(cm, secret, encrypted=("Secret/team-a/db",)))

    lines = text.splitlines()
    assert lines[0].startswith("# Kustomization team-a/apps, main@sha1:abc: what Landlord would")
    assert lines[1] == (
        f"# SOPS-encrypted values are not decrypted: shown as {compare.PLACEHOLDER} "
        "(Secret/team-a/db)."
    )
    assert [doc for doc in yaml.safe_load_all(text) if doc] == [cm, secret]


def test_ks_is_the_short_name_of_the_kind() -> None:
    runner = CliRunner()

    for command in ("build", "diff"):
        short = runner.invoke(cli, [command, "ks", "--help"])
        long = runner.invoke(cli, [command, "kustomization", "--help"])
        assert short.exit_code == 0, short.output
        assert short.output == long.output.replace("kustomization", "ks", 1)
        assert "Exit codes" in short.output
