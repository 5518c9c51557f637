"""``landlord tenant create|update|delete|list|get``: the onboarding API from the shell."""

from __future__ import annotations

import pathlib
from typing import Any

import click
import yaml
from rich.table import Table

from landlord.cli import console
from landlord.cli import output as formats
from landlord.client import ApiCallError, connect
from landlord.settings import Settings


def _spec_from(
    *,
    file: pathlib.Path | None,
    namespaces: tuple[str, ...],
    owners: tuple[str, ...],
    quota: tuple[str, ...],
    source_url: str | None,
    branch: str | None,
    path: str | None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if file is not None:
        loaded = yaml.safe_load(file.read_text()) or {}
        if not isinstance(loaded, dict):
            raise click.BadParameter("must hold a mapping (a Tenant spec)", param_hint="--file")
        spec = dict(loaded.get("spec", loaded)) if loaded.get("kind") == "Tenant" else loaded
    if namespaces:
        spec["namespaces"] = list(namespaces)
    if owners:
        parsed = []
        for owner in owners:
            kind, _, name = owner.partition(":")
            if kind not in ("User", "Group", "ServiceAccount") or not name:
                raise click.BadParameter(
                    f"{owner!r}: use User:NAME, Group:NAME or ServiceAccount:NAMESPACE/NAME",
                    param_hint="--owner",
                )
            if kind == "ServiceAccount":
                ns, _, sa = name.partition("/")
                parsed.append({"kind": kind, "name": sa or ns, **({"namespace": ns} if sa else {})})
            else:
                parsed.append({"kind": kind, "name": name})
        spec["owners"] = parsed
    if quota:
        entries = {}
        for item in quota:
            key, sep, value = item.partition("=")
            if not sep:
                raise click.BadParameter(f"{item!r}: use RESOURCE=AMOUNT", param_hint="--quota")
            entries[key] = value
        spec["quota"] = entries
    if source_url:
        spec["source"] = {"url": source_url, **({"ref": {"branch": branch}} if branch else {})}
        spec["sync"] = {"path": path or "./"}
    return spec


def _spec_options(command: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--file",
                "-f",
                type=click.Path(path_type=pathlib.Path, exists=True),
                help="A YAML Tenant spec (or a whole Tenant).",
            ),
            click.option("--namespace", "namespaces", multiple=True, help="A namespace (repeat)."),
            click.option(
                "--owner",
                "owners",
                multiple=True,
                help="User:NAME, Group:NAME or ServiceAccount:NS/NAME (repeat).",
            ),
            click.option("--quota", multiple=True, help="RESOURCE=AMOUNT, e.g. pods=20 (repeat)."),
            click.option("--source-url", help="The tenant's own Git repository."),
            click.option("--branch", help="Branch of --source-url."),
            click.option("--path", help="Folder of --source-url to sync (default ./)."),
        ]
    ):
        command = option(command)
    return command


def _connection_options(command: Any) -> Any:
    for option in reversed(
        [
            click.option("--api-url", help="The onboarding API (default LANDLORD_API__URL)."),
            click.option(
                "--token",
                help="Bearer token issued for the API's audience (default: LANDLORD_TOKEN or "
                "the kubeconfig's), e.g. `kubectl create token SA --audience landlord`.",
            ),
            click.option("--timeout", default=330.0, show_default=True, help="HTTP timeout (s)."),
        ]
    ):
        command = option(command)
    return command


def _report(status: int, result: dict[str, Any]) -> None:
    commit = result.get("commit")
    console.out.print(
        f"{result.get('operation')} {result.get('name')}: "
        + (f"commit {commit[:12]}" if commit else "no change")
        + f" (request {result.get('requestId')}"
        + (f", trace {result['traceId']}" if result.get("traceId") else "")
        + ")"
    )
    if result.get("message") and result.get("message") != "committed":
        style = "green" if result.get("ready") else "yellow"
        console.out.print(f"[{style}]{result['message']}[/{style}]")
    if status == 202 and result.get("ready") is False and result.get("status") is not None:
        raise ApiCallError(f"not done in time: {result.get('message')}")


@click.group("tenant")
def tenant_group() -> None:
    """Create, change and offboard tenants through the onboarding API (commits to Git)."""


@tenant_group.command("create")
@click.argument("name")
@_spec_options
@click.option("--wait", is_flag=True, help="Return once the Tenant is Ready.")
@_connection_options
@click.pass_obj
def create_command(
    settings: Settings,
    /,
    name: str,
    wait: bool,
    api_url: str | None,
    token: str | None,
    timeout: float,
    **spec_options: Any,
) -> None:
    """Onboard tenant NAME."""
    spec = _spec_from(**spec_options)
    client = connect(settings, api_url, token, timeout)
    _report(*client.call("POST", "/v1/tenants", {"name": name, "spec": spec}, wait=wait))


@tenant_group.command("update")
@click.argument("name")
@_spec_options
@click.option("--wait", is_flag=True, help="Return once the change is in place.")
@_connection_options
@click.pass_obj
def update_command(
    settings: Settings,
    /,
    name: str,
    wait: bool,
    api_url: str | None,
    token: str | None,
    timeout: float,
    **spec_options: Any,
) -> None:
    """Change tenant NAME: the fields given replace the tenant's."""
    patch = _spec_from(**spec_options)
    if not patch:
        raise click.UsageError("nothing to change: give --owner, --quota, --namespace, … or -f")
    client = connect(settings, api_url, token, timeout)
    _report(*client.call("PATCH", f"/v1/tenants/{name}", patch, wait=wait))


@tenant_group.command("delete")
@click.argument("name")
@click.option("--wait", is_flag=True, help="Return once the tenant is offboarded.")
@_connection_options
@click.pass_obj
def delete_command(
    settings: Settings,
    name: str,
    wait: bool,
    api_url: str | None,
    token: str | None,
    timeout: float,
) -> None:
    """Offboard tenant NAME (its file is removed; the platform sync prunes it)."""
    client = connect(settings, api_url, token, timeout)
    _report(*client.call("DELETE", f"/v1/tenants/{name}", wait=wait))


@tenant_group.command("list")
@_connection_options
@formats.output_option
@click.pass_obj
def list_command(
    settings: Settings, api_url: str | None, token: str | None, timeout: float, output: str
) -> None:
    """The tenants you may see, from the platform repository, with their readiness."""
    _, result = connect(settings, api_url, token, timeout).call("GET", "/v1/tenants")
    if formats.structured(output):
        formats.emit(result, output)
        return
    table = Table("NAME", "READY", "NAMESPACES", "FILE", box=None, pad_edge=False)
    for item in result.get("items", []):
        spec = item.get("spec") or {}
        ready = "[green]True[/green]" if item.get("ready") else "[yellow]False[/yellow]"
        table.add_row(
            item["name"], ready, ",".join(spec.get("namespaces") or [item["name"]]), item["path"]
        )
    if not result.get("items"):
        console.out.print("no tenants you may see")
        return
    console.out.print(table)


@tenant_group.command("get")
@click.argument("name")
@_connection_options
@click.option(
    "-o",
    "--output",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="yaml or json.",
)
@click.pass_obj
def get_command(
    settings: Settings,
    name: str,
    api_url: str | None,
    token: str | None,
    timeout: float,
    output: str,
) -> None:
    """Tenant NAME: its spec from Git and its status from the cluster, as YAML (or JSON)."""
    _, result = connect(settings, api_url, token, timeout).call("GET", f"/v1/tenants/{name}")
    formats.emit(result, output)
