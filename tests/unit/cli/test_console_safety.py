"""What a tenant writes never reaches an admin's terminal as a control sequence."""

from __future__ import annotations

import io

import pytest
from rich.tree import Tree

from landlord import errors
from landlord.cli import console, output

HOSTILE = "web\x1b]0;owned\x07\x1b[1A\x1b[2K\r\u202eevil\x1b]52;c;cm0gLXJmIH4=\x1b\\"


def test_tables_trees_and_errors_print_no_control_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = output.table("NAME", "MESSAGE")
    table.add_row(HOSTILE, "ok")
    console.out.print(table)
    tree = Tree(HOSTILE)
    tree.add(f"[red]leaf[/red] {HOSTILE}")
    console.out.print(tree)
    console.fail(errors.TerminalError(HOSTILE, hint=HOSTILE))
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):
        assert "\x1b" not in text
        assert "\r" not in text
        assert "\u202e" not in text
        assert "\x07" not in text
        assert "web]0;owned" in text  # the words stay, the sequences go


def test_on_a_terminal_only_the_consoles_own_styles_are_sequences() -> None:
    buffer = io.StringIO()
    terminal = console._SafeConsole(file=buffer, force_terminal=True, color_system="truecolor")
    terminal.print(f"[red]failing[/red] {HOSTILE}")
    written = buffer.getvalue()
    assert "\x1b[" in written  # rich's own colour
    assert "\x1b]" not in written  # no OSC from the message
    assert "\x1b[1A" not in written
    assert "\x1b[2K" not in written
    assert "owned" in written
