"""``landlord completion bash|zsh|fish``, the program's names, and ``kubectl landlord`` completion.

The CLI answers completion requests through click's machinery, driven by the
``_LANDLORD_COMPLETE`` variable whichever name it runs under (``landlord`` or
the kubectl plugin ``kubectl-landlord``). kubectl itself (1.26 and later)
completes ``kubectl landlord …`` by running ``kubectl_complete-landlord`` with
the words typed so far, in cobra's protocol: :func:`kubectl_complete`.
"""

from __future__ import annotations

import os
import pathlib
import sys

import click
from click import shell_completion

COMPLETE_VAR = "_LANDLORD_COMPLETE"
PLUGIN = "kubectl-landlord"
SHELLS = ("bash", "zsh", "fish")

# cobra's completion directives (the last line kubectl reads): let the shell
# complete file names, complete directory names only, or complete nothing else.
FILES = 0
NO_FILES = 4
DIRECTORIES = 16


def executable() -> str:
    """The name the program was started as: ``kubectl-landlord`` or ``landlord``."""
    started = pathlib.Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return PLUGIN if started.startswith(PLUGIN) else "landlord"


def prog_name() -> str:
    """The name usage lines show: ``kubectl landlord`` for the plugin (as kubectl runs it).

    While a shell asks for completions, the executable's own name, which the
    completion script registers.
    """
    name = executable()
    if name == PLUGIN and COMPLETE_VAR not in os.environ:
        return "kubectl landlord"
    return name


def script(root: click.Command, shell: str, name: str) -> str:
    """The completion script of ``shell`` for the executable ``name``."""
    completer = shell_completion.get_completion_class(shell)
    if completer is None:
        raise click.BadParameter(f"no completion for {shell}", param_hint="SHELL")
    return completer(root, {}, name, COMPLETE_VAR).source()


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    Load it in every new shell:

    \b
      bash: landlord completion bash > ~/.local/share/bash-completion/completions/landlord
      zsh:  add `source <(landlord completion zsh)` to ~/.zshrc, after `compinit`
      fish: landlord completion fish > ~/.config/fish/completions/landlord.fish

    A new shell then completes commands, options and choices. Run as
    `kubectl-landlord completion SHELL`, the script completes the kubectl-landlord
    command; `kubectl landlord <TAB>` needs no script: kubectl 1.26 and later run
    kubectl_complete-landlord, installed beside landlord.
    """  # noqa: D301 - click's \b keeps the lines as they are
    click.echo(script(ctx.find_root().command, shell, executable()), nl=False)


def completions(root: click.Command, words: list[str]) -> tuple[list[str], int]:
    """Cobra-style answers for ``words`` (the last one being completed) and the directive."""
    args, incomplete = (words[:-1], words[-1]) if words else ([], "")
    found = shell_completion.ShellComplete(root, {}, "kubectl landlord", COMPLETE_VAR)
    lines: list[str] = []
    directive = NO_FILES
    for item in found.get_completions(args, incomplete):
        if item.type == "file":
            directive = FILES
        elif item.type == "dir":
            directive = DIRECTORIES
        else:
            help_text = (item.help or "").splitlines()[0] if item.help else ""
            lines.append(f"{item.value}\t{help_text}" if help_text else str(item.value))
    return lines, directive


def kubectl_complete() -> None:
    """The ``kubectl_complete-landlord`` program: kubectl asks it to complete its arguments."""
    from landlord.cli import main  # the whole command tree; main imports this module

    lines, directive = completions(main.cli, sys.argv[1:])
    for line in lines:
        click.echo(line)
    click.echo(f":{directive}")
