"""``landlord build kustomization NAME``: print the manifests a Kustomization would apply.

The build is the sync's own (:mod:`landlord.sync.preview`): the same sandboxed
kustomize, postBuild substitution with variables read as the Kustomization's
service account, and validation. Its parts (kustomize, the sandbox, the
policy) are made here from the same settings the operator reads.
``landlord diff`` (:mod:`landlord.cli.diff`) shares them.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable
from typing import Any, TypeVar

import click
import yaml
from rich.markup import escape

from landlord import errors, kube, policy
from landlord.api import reasons
from landlord.cli import console
from landlord.cluster import binaries
from landlord.gitops import artifacts, budgets, durations
from landlord.gitops import sandbox as sandbox_mod
from landlord.settings import Settings
from landlord.sync import compare, preview
from landlord.sync.failure import SyncError

F = TypeVar("F", bound=Callable[..., Any])

# Other spellings of the one kind these commands take (as `landlord reconcile` has them).
ALIASES = {"ks": "kustomization", "kustomizations": "kustomization"}


class KindGroup(click.Group):
    """A group of one subcommand per kind, that also answers to the kind's short names."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(cmd_name.lower(), cmd_name.lower()))


def preview_options(function: F) -> F:
    """``-n/--namespace``, ``--path`` and ``--policy``: what ``build`` and ``diff`` share."""
    function = click.option(
        "--policy",
        "policy_dir",
        type=click.Path(exists=True, file_okay=False, path_type=pathlib.Path),
        default=None,
        help="Also check the kinds (and cross-namespace references) against the Casbin "
        "policy in this folder (model.conf, policy.csv), as the operator does. Default: "
        "LANDLORD_POLICY__PATH when set; otherwise the policy is not checked.",
    )(function)
    function = click.option(
        "--path",
        "path",
        type=click.Path(exists=True, file_okay=False, path_type=pathlib.Path),
        default=None,
        help="Build this local folder as if it were the Kustomization's spec.path (as "
        "`flux build ks --path` does); relative references such as ../base resolve within "
        "the Git checkout the folder is in. Default: the source's current revision "
        "(status.artifact), fetched again from its URL with its credentials Secret read as "
        "the Kustomization's service account.",
    )(function)
    return click.option(
        "-n",
        "--namespace",
        default="default",
        show_default=True,
        help="Namespace of the Kustomization.",
    )(function)


def parts(config: Settings, client: kube.Kube, policy_dir: pathlib.Path | None) -> preview.Parts:
    """The preview's parts, from the settings the operator reads (``LANDLORD_*``)."""
    sources = config.sources
    return preview.Parts(
        kube=client,
        platform_namespace=config.platform_namespace,
        kustomize=binaries.find(
            "kustomize", cache_dir=config.cluster.cache_dir, assets_dir=config.cluster.assets_dir
        ),
        sandbox=sandbox_mod.from_settings(config.sandbox),
        budgets=budgets.Budgets(**config.budgets.model_dump()),
        limits=artifacts.Limits(
            max_files=sources.max_files,
            max_file_bytes=sources.max_file_bytes,
            max_total_bytes=sources.max_total_bytes,
        ),
        bounds=durations.bounds_of(config.limits),
        allowed_schemes=tuple(sources.allowed_schemes),
        gate=_gate(policy_dir or config.policy.path),
    )


def _gate(directory: pathlib.Path | None) -> policy.Gate | None:
    if directory is None:
        return None
    try:
        return policy.Gate(policy.Policy.from_directory(directory))
    except policy.PolicyError as error:
        raise errors.TerminalError(
            f"the policy in {directory} is invalid:\n  " + "\n  ".join(error.problems),
            hint="`landlord policy check` says more",
        ) from None


def failed(error: SyncError) -> errors.TerminalError:
    """A step's failure as the CLI reports it: its Ready reason, its message, a hint."""
    hint = None
    if error.reason == reasons.SANDBOX_UNAVAILABLE:
        hint = (
            "builds run in the operator's bubblewrap sandbox here too; on a machine without "
            "it, LANDLORD_SANDBOX__MODE=unconfined runs them without isolation"
        )
    elif "needs kustomize" in error.message:
        hint = "`landlord cluster build` builds kustomize into the cache Landlord reads it from"
    elif error.reason == reasons.ARTIFACT_FAILED:
        hint = "--path DIR builds a local checkout instead of fetching the source"
    return errors.TerminalError(f"{error.reason}: {error.message}", hint=hint)


def built(
    config: Settings,
    client: kube.Kube,
    name: str,
    namespace: str,
    path: pathlib.Path | None,
    policy_dir: pathlib.Path | None,
) -> tuple[preview.Parts, preview.Built]:
    """Load the Kustomization and build its revision (or ``path``), as the sync would."""
    found = parts(config, client, policy_dir)
    body = preview.load(client, name, namespace)
    try:
        return found, preview.build_revision(found, body, path)
    except SyncError as error:
        raise failed(error) from None


def notes(found: list[str]) -> None:
    """What the preview could not do as the sync would, on stderr."""
    for note in found:
        console.err.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)


@click.group("build", cls=KindGroup)
def build_group() -> None:
    """Print the manifests Landlord would apply, without applying anything."""


@build_group.command("kustomization", short_help="The manifests a Kustomization would apply.")
@click.argument("name")
@preview_options
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="yaml: one document per object, with comments; json: a v1 List of the objects.",
)
@click.pass_obj
def build_kustomization(
    config: Settings,
    name: str,
    namespace: str,
    path: pathlib.Path | None,
    policy_dir: pathlib.Path | None,
    output: str,
) -> None:
    """Print what Kustomization NAME would apply: built, substituted, validated.

    Builds --path (or the source's current revision) exactly as the sync does:
    kustomize in the build sandbox (or plain YAML), postBuild.substitute and
    substituteFrom (ConfigMaps and Secrets read as the Kustomization's service
    account, impersonated: you need `impersonate` on it), the same validation
    (names, the tenant's namespaces, kinds the cluster serves; the Casbin kinds
    check with --policy), with the namespaces and owner labels the sync sets.
    SOPS-encrypted values are not decrypted: they are printed as
    <sops-encrypted>, and a comment says so. Nothing is applied.

    \b
    Exit codes:
      0  the manifests were printed
      1  an error: stderr starts with `error:` and the sync's reason
         (BuildFailed, DecryptionFailed, ValidationFailed, PolicyDenied…)
      3  the Kustomization does not exist

    Also answers to `landlord build ks NAME`.
    """  # noqa: D301 - click's \b keeps the lines as they are
    client = kube.connect()
    _, result = built(config, client, name, namespace, path, policy_dir)
    notes(result.notes)
    if output == "json":
        if result.encrypted:
            console.err.print(_encrypted_line(result.encrypted), soft_wrap=True, markup=False)
        click.echo(
            json.dumps({"apiVersion": "v1", "kind": "List", "items": result.manifests}, indent=2)
        )
        return
    click.echo(render_yaml(result), nl=False)


def _encrypted_line(encrypted: list[str]) -> str:
    return (
        f"SOPS-encrypted values are not decrypted: shown as {compare.PLACEHOLDER} "
        f"({', '.join(encrypted)})"
    )


def render_yaml(result: preview.Built) -> str:
    """The manifests as multi-document YAML, with what they are in comments."""
    lines = [
        f"# Kustomization {result.key}, {result.revision}: what Landlord would apply "
        "(nothing was applied)."
    ]
    if result.encrypted:
        lines.append(f"# {_encrypted_line(result.encrypted)}.")
    text = "\n".join(lines) + "\n"
    for manifest in result.manifests:
        text += "---\n" + yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False)
    return text
