"""The ``landlord`` entry point."""

from __future__ import annotations

import sys

import click

from landlord import __version__, errors, settings
from landlord.cli import (
    audit,
    check,
    cluster,
    console,
    demo,
    get,
    image,
    operate,
    operations,
    output,
    policy,
    sops,
    tenant,
)


@click.group()
@click.version_option(__version__, prog_name="landlord")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Landlord: multi-tenant GitOps for Kubernetes."""
    ctx.obj = settings.load()


cli.add_command(cluster.cluster_group)
cli.add_command(demo.up_command)
cli.add_command(operate.install_command)
cli.add_command(operate.run_command)
cli.add_command(operate.api_command)
cli.add_command(operate.bootstrap_command)
cli.add_command(get.get_group)
cli.add_command(operations.reconcile_command)
cli.add_command(operations.suspend_command)
cli.add_command(operations.resume_command)
cli.add_command(policy.policy_group)
cli.add_command(tenant.tenant_group)
cli.add_command(audit.audit_group)
cli.add_command(check.check_command)
cli.add_command(image.image_group)
cli.add_command(sops.sops_group)


def main() -> None:
    """Run the CLI; Landlord errors become a message, a hint and exit code 1."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        console.err.print("aborted")
        sys.exit(output.INTERRUPTED)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except errors.LandlordError as error:
        console.fail(error)
        sys.exit(output.NOT_FOUND if isinstance(error, errors.NotFoundError) else output.FAILED)
