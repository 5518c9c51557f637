"""The ``landlord`` entry point."""

from __future__ import annotations

import importlib
import sys

import click

from landlord import __version__, errors, settings
from landlord.cli import completion, console, output

# Each command's module is imported only when that command runs (or help lists it):
# `landlord policy diff` need not load FastAPI, kopf or the control-plane builder.
COMMANDS: dict[str, tuple[str, str]] = {
    "cluster": ("cluster", "cluster_group"),
    "up": ("demo", "up_command"),
    "install": ("operate", "install_command"),
    "run": ("operate", "run_command"),
    "api": ("operate", "api_command"),
    "bootstrap": ("operate", "bootstrap_command"),
    "get": ("get", "get_group"),
    "reconcile": ("operations", "reconcile_command"),
    "suspend": ("operations", "suspend_command"),
    "resume": ("operations", "resume_command"),
    "build": ("build", "build_group"),
    "diff": ("diff", "diff_group"),
    "tree": ("tree", "tree_group"),
    "policy": ("policy", "policy_group"),
    "tenant": ("tenant", "tenant_group"),
    "audit": ("audit", "audit_group"),
    "check": ("check", "check_command"),
    "image": ("image", "image_group"),
    "sops": ("sops", "sops_group"),
    "events": ("events", "events_command"),
    "logs": ("logs", "logs_command"),
    "trace": ("trace", "trace_command"),
    "export": ("export", "export_command"),
    "stats": ("stats", "stats_command"),
    "create": ("create", "create_group"),
    "push": ("push", "push_group"),
    "pull": ("push", "pull_group"),
    "completion": ("completion", "completion_command"),
}


class _LazyGroup(click.Group):
    """A group whose commands are imported from :data:`COMMANDS` when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = self.commands.get(cmd_name)
        if found is not None or cmd_name not in COMMANDS:
            return found
        module, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"landlord.cli.{module}"), attribute)
        if not isinstance(command, click.Command) or command.name != cmd_name:
            raise RuntimeError(f"landlord.cli.{module}.{attribute} is not the {cmd_name} command")
        self.commands[cmd_name] = command
        return command


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="landlord")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Landlord: multi-tenant GitOps for Kubernetes."""
    ctx.obj = settings.load()


# Commands whose exit codes 1 and 2 are verdicts a CI job acts on (`policy diff`: 1 only
# newly allowed, 2 newly denied): any failure of theirs, even before they run (a setting
# that does not load), exits CANNOT_TELL.
VERDICTS = (("policy", "diff"),)


def _verdict(args: list[str]) -> bool:
    return any(tuple(args[i : i + 2]) in VERDICTS for i in range(len(args) - 1))


def main() -> None:
    """Run the CLI; Landlord errors become a message, a hint and exit code 1."""
    verdict = _verdict(sys.argv[1:])
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
        sys.exit(output.CANNOT_TELL if verdict else error.exit_code)
    except errors.LandlordError as error:
        console.fail(error)
        if verdict:
            sys.exit(output.CANNOT_TELL)
        sys.exit(output.NOT_FOUND if isinstance(error, errors.NotFoundError) else output.FAILED)
    except Exception as error:
        if not verdict:
            raise
        console.fail(errors.TerminalError(f"{type(error).__name__}: {error}"))
        sys.exit(output.CANNOT_TELL)
