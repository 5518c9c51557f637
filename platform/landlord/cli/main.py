"""The ``landlord`` entry point."""

from __future__ import annotations

import sys

import click

from landlord import __version__, errors, settings
from landlord.cli import (
    audit,
    build,
    check,
    cluster,
    completion,
    console,
    create,
    demo,
    diff,
    events,
    export,
    get,
    image,
    logs,
    operate,
    operations,
    output,
    policy,
    push,
    sops,
    stats,
    tenant,
    trace,
    tree,
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
cli.add_command(build.build_group)
cli.add_command(diff.diff_group)
cli.add_command(tree.tree_group)
cli.add_command(policy.policy_group)
cli.add_command(tenant.tenant_group)
cli.add_command(audit.audit_group)
cli.add_command(check.check_command)
cli.add_command(image.image_group)
cli.add_command(sops.sops_group)
cli.add_command(events.events_command)
cli.add_command(logs.logs_command)
cli.add_command(trace.trace_command)
cli.add_command(export.export_command)
cli.add_command(stats.stats_command)
cli.add_command(create.create_group)
cli.add_command(push.push_group)
cli.add_command(push.pull_group)
cli.add_command(completion.completion_command)


def main() -> None:
    """Run the CLI; Landlord errors become a message, a hint and exit code 1."""
    try:
        cli.main(
            standalone_mode=False,
            prog_name=completion.prog_name(),
            complete_var=completion.COMPLETE_VAR,
        )
    except click.exceptions.Abort:
        console.err.print("aborted")
        sys.exit(output.INTERRUPTED)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except errors.LandlordError as error:
        console.fail(error)
        sys.exit(output.NOT_FOUND if isinstance(error, errors.NotFoundError) else output.FAILED)
