"""``landlord install`` and ``landlord run``."""

from __future__ import annotations

import click

from landlord import installer, kube
from landlord.cli import console
from landlord.installer import bootstrap
from landlord.settings import Settings


@click.command("install")
@click.pass_obj
def install_command(settings: Settings) -> None:
    """Install the CRDs, the platform namespace and the operator's RBAC (KUBECONFIG)."""
    client = kube.connect()
    for item in installer.install(
        client,
        platform_namespace=settings.platform_namespace,
        tenant_roles=settings.tenants.roles,
        pod_security_levels=settings.tenants.pod_security_levels,
    ):
        console.out.print(f"applied {item}")


@click.command("run")
@click.option("--api", "with_api", is_flag=True, help="Also serve the onboarding API.")
@click.pass_obj
def run_command(settings: Settings, with_api: bool) -> None:
    """Run the operator against the cluster in KUBECONFIG, until interrupted."""
    from landlord.wiring import operator_main

    operator_main.run(settings, serve_api=with_api)


@click.command("api")
@click.pass_obj
def api_command(settings: Settings) -> None:
    """Serve the onboarding API alone on LANDLORD_API__BIND (the operator runs elsewhere)."""
    from landlord.wiring import api_main

    api_main.run(settings)


@click.command("bootstrap")
@click.option("--url", required=True, help="The platform repository's URL.")
@click.option("--branch", default="main", show_default=True)
@click.option(
    "--path", default="tenants", show_default=True, help="Folder of Tenant files in the repository."
)
@click.option(
    "--secret", default=None, help="Secret in the platform namespace with Git credentials."
)
@click.pass_obj
def bootstrap_command(
    settings: Settings, url: str, branch: str, path: str, secret: str | None
) -> None:
    """Sync the platform repository (GitRepository and Kustomization `platform`)."""
    client = kube.connect()
    installer.install(
        client,
        platform_namespace=settings.platform_namespace,
        tenant_roles=settings.tenants.roles,
        pod_security_levels=settings.tenants.pod_security_levels,
    )
    for item in bootstrap.bootstrap(
        client,
        url=url,
        branch=branch,
        path=path,
        platform_namespace=settings.platform_namespace,
        secret=secret,
    ):
        console.out.print(f"applied {item}")
