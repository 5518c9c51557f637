"""``landlord push artifact`` and ``landlord pull artifact``: Flux's OCI artifacts, by hand.

``push`` packages a folder as ``flux push artifact`` does (a deterministic
tar.gz layer, an empty Flux config, the source and revision annotations) and
pushes it under a tag; the same folder always gives the same digest. ``pull``
fetches a tag's artifact and extracts it with the operator's own safe-archive
rules. This is a user's tool: the registry may be at any address (no network
deny list), but every URL still goes where it was resolved.
"""

from __future__ import annotations

import gzip
import os
import pathlib
import shutil
import tempfile
import urllib.parse

import click

from landlord import errors
from landlord.cli import console, output
from landlord.git import network
from landlord.gitops import artifacts
from landlord.oci import artifact, client, reference

PASSWORD_ENV = "LANDLORD_REGISTRY_PASSWORD"  # noqa: S105 - the name of a variable
TIMEOUT = 300.0
MAX_PULL_BYTES = 512 * 1024**2


class ArtifactCommandError(errors.TerminalError):
    """An artifact cannot be pushed or pulled as asked."""

    reason = "ArtifactFailed"


def _any_address(url: str) -> network.Resolution | None:
    """The CLI's check: any host (the user chose it), resolved once and connected there."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = network.system_resolver(host, port)
    except OSError as error:
        raise ArtifactCommandError(f"cannot resolve {host}: {error}") from None
    return network.Resolution(host, port, tuple(addresses))


def _target(url: str) -> tuple[reference.Repository, str]:
    name, tag = reference.split_tag(url)
    if "@" in url:
        raise click.BadParameter("give a tag (oci://HOST/REPO:TAG), not a digest", param_hint="URL")
    if tag is None or not reference.valid_tag(tag):
        raise click.BadParameter(
            "give the artifact as oci://HOST/REPO:TAG (a valid tag)", param_hint="URL"
        )
    try:
        return reference.Repository.parse(name), tag
    except reference.InvalidReferenceError as error:
        raise click.BadParameter(str(error), param_hint="URL") from None


def _client(
    repository: reference.Repository,
    creds: str | None,
    ca_file: pathlib.Path | None,
    insecure: bool,
) -> client.Client:
    username = password = None
    if creds:
        username, colon, given = creds.partition(":")
        password = given if colon else os.environ.get(PASSWORD_ENV)
        if password is None:
            raise click.BadParameter(
                f"give USER:PASSWORD, or USER and the password in {PASSWORD_ENV}",
                param_hint="--creds",
            )
    return client.Client(
        repository,
        credentials=client.Credentials(
            username=username or None,
            password=password,
            ca_pem=ca_file.read_bytes() if ca_file else None,
        ),
        check=_any_address,
        timeout=TIMEOUT,
        insecure=insecure,
        user_agent="landlord-cli",
    )


def _annotations(pairs: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--annotation")
        found[key] = value
    return found


def _connection_options(function: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        (
            click.option(
                "--creds",
                default=None,
                metavar="USER[:PASSWORD]",
                help=f"Registry credentials; the password may come from {PASSWORD_ENV}.",
            ),
            click.option(
                "--ca-file",
                type=click.Path(path_type=pathlib.Path, dir_okay=False, exists=True),
                default=None,
                help="A PEM CA bundle to trust for the registry.",
            ),
            click.option(
                "--insecure",
                is_flag=True,
                help="Plain HTTP to the registry (no TLS): for a local registry only.",
            ),
        )
    ):
        function = option(function)
    return function


@click.group("push")
def push_group() -> None:
    """Push Flux OCI artifacts to a registry."""


@push_group.command("artifact")
@click.argument("url")
@click.option(
    "--path",
    "folder",
    type=click.Path(path_type=pathlib.Path, file_okay=False, exists=True),
    required=True,
    help="The folder to package.",
)
@click.option("--source", default=None, help="Where the content comes from (a Git URL).")
@click.option("--revision", default=None, help="The content's revision (main@sha1:…).")
@click.option(
    "--annotation",
    "annotation",
    multiple=True,
    metavar="KEY=VALUE",
    help="An extra manifest annotation (repeatable).",
)
@click.option(
    "--ignore-paths",
    default=None,
    help="Paths to leave out, .gitignore style, comma-separated.",
)
@_connection_options
@output.output_option
def push_artifact_command(
    url: str,
    folder: pathlib.Path,
    source: str | None,
    revision: str | None,
    annotation: tuple[str, ...],
    ignore_paths: str | None,
    creds: str | None,
    ca_file: pathlib.Path | None,
    insecure: bool,
    output: str,
) -> None:
    """Package a folder as a Flux artifact and push it to oci://HOST/REPO:TAG; print its digest."""
    repository, tag = _target(url)
    annotations = _annotations(annotation)
    registry = _client(repository, creds, ca_file, insecure)
    ignore = "\n".join(part.strip() for part in (ignore_paths or "").split(",") if part.strip())
    try:
        digest = artifact.push(
            registry,
            folder,
            tag=tag,
            source=source,
            revision=revision,
            annotations=annotations,
            ignore=ignore or None,
        )
    except ValueError as error:
        raise ArtifactCommandError(f"{folder} cannot be packaged: {error}") from None
    _report({"repository": repository.url, "tag": tag, "digest": digest}, output)


@click.group("pull")
def pull_group() -> None:
    """Pull Flux OCI artifacts from a registry."""


@pull_group.command("artifact")
@click.argument("url")
@click.option(
    "--output-dir",
    "target",
    type=click.Path(path_type=pathlib.Path, file_okay=False),
    required=True,
    help="The folder to extract into (created; must be empty).",
)
@_connection_options
@output.output_option
def pull_artifact_command(
    url: str,
    target: pathlib.Path,
    creds: str | None,
    ca_file: pathlib.Path | None,
    insecure: bool,
    output: str,
) -> None:
    """Pull the artifact at oci://HOST/REPO:TAG and extract it; print its digest."""
    repository, tag = _target(url)
    if target.exists() and any(target.iterdir()):
        raise click.BadParameter(f"{target} is not empty", param_hint="--output-dir")
    registry = _client(repository, creds, ca_file, insecure)
    manifest = registry.manifest(tag)
    layers = [layer for layer in manifest.layers if layer.media_type == artifact.CONTENT_MEDIA_TYPE]
    if len(layers) != 1:
        raise ArtifactCommandError(
            f"{repository.url}:{tag} is not a Flux artifact (no single "
            f"{artifact.CONTENT_MEDIA_TYPE} layer)"
        )
    with tempfile.TemporaryDirectory(prefix="landlord-pull-") as scratch:
        blob = pathlib.Path(scratch) / "layer"
        with blob.open("wb") as sink:
            registry.fetch_blob(layers[0], sink, max_bytes=MAX_PULL_BYTES)
        store = artifacts.ArtifactStore(pathlib.Path(scratch) / "store")
        with gzip.open(blob, "rb") as stream:
            try:
                stored = store.store(
                    "pull", "artifact", "tree", stream, ignore=None, limits=artifacts.Limits()
                )
            except (OSError, EOFError) as error:
                raise ArtifactCommandError(f"the layer is not a gzip archive: {error}") from None
        target.mkdir(parents=True, exist_ok=True)
        for entry in stored.path.iterdir():
            shutil.move(str(entry), target / entry.name)
    _report(
        {"repository": repository.url, "tag": tag, "digest": manifest.digest, "path": str(target)},
        output,
    )


def _report(data: dict[str, str], format_: str) -> None:
    if output.structured(format_):
        output.emit(data, format_)
        return
    console.out.print(data["digest"], markup=False, highlight=False)
