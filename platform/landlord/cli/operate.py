"""``landlord install`` and ``landlord run``."""

from __future__ import annotations

import click

from landlord import installer, kube
from landlord.cli import console
from landlord.settings import Settings


@click.command("install")
@click.pass_obj
def install_command(settings: Settings) -> None:
    """Install the CRDs, the platform namespace and the operator's RBAC (KUBECONFIG)."""
    client = kube.connect()
    for item in installer.install(client, platform_namespace=settings.platform_namespace):
        console.out.print(f"applied {item}")


@click.command("run")
@click.option("--api", "with_api", is_flag=True, help="Also serve the onboarding API.")
@click.pass_obj
def run_command(settings: Settings, with_api: bool) -> None:
    """Run the operator against the cluster in KUBECONFIG, until interrupted."""
    if with_api:
        raise click.UsageError("the onboarding API is not available yet (issue: onboarding)")
    from landlord.wiring import operator_main

    operator_main.run(settings)
