"""docs/cli.md is the CLI's own help, generated: it must match the command tree."""

from __future__ import annotations

import pathlib

import click

from landlord.cli import main, output, reference

DOC = pathlib.Path(__file__).parents[3] / "docs" / "cli.md"
REGENERATE = "python -m landlord.cli.reference > docs/cli.md"


def test_docs_cli_md_is_up_to_date() -> None:
    assert DOC.exists(), f"docs/cli.md is missing: run `{REGENERATE}`"
    assert DOC.read_text() == reference.render(), (
        f"docs/cli.md differs from the commands' help: run `{REGENERATE}` and commit it"
    )


def _paths(command: click.Command, path: str) -> list[str]:
    found = [path]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            if not sub.hidden:
                found += _paths(sub, f"{path} {name}")
    return found


def test_every_command_has_a_section_and_the_exit_codes_are_listed() -> None:
    text = reference.render()

    for path in _paths(main.cli, "landlord"):
        assert f"## `{path}`\n" in text, path
    for code, meaning in output.EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in text


def test_the_reference_is_stable_and_independent_of_the_terminal() -> None:
    group = click.Group("landlord", help="Top.")

    @group.command("zeta")
    @click.option("--flag", is_flag=True, help="A flag | with a bar.")
    def zeta(flag: bool) -> None:
        """Last.

        \b
        keep  these
        lines as  they are
        """

    @group.command("alpha")
    @click.argument("name")
    def alpha(name: str) -> None:
        """First."""

    text = reference.render(group)

    assert text == reference.render(group)
    assert text.index("## `landlord alpha`") < text.index("## `landlord zeta`")
    assert "landlord alpha [OPTIONS] NAME" in text
    assert "- `--flag`: A flag | with a bar." in text
    assert "```text\nkeep  these\nlines as  they are\n```" in text
    assert "--help" not in text.split("## `landlord`")[1]
