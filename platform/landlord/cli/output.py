"""Machine-readable output and the tables every command prints, in one shape.

Every listing command takes ``-o/--output``: ``table`` (the default), ``wide``
(more columns), ``json`` or ``yaml``; json and yaml print exactly the data, with
no colour and no decoration, so scripts can rely on them. Exit codes are the
same for every command (:data:`EXIT_CODES`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
import yaml
from rich.table import Table

# The exit codes of every `landlord` command (docs/cli.md).
OK = 0
FAILED = 1  # the command ran, and what it checked or waited for is not well (or an error)
USAGE = 2  # click: a bad option or argument
NOT_FOUND = 3  # the object named does not exist
# `landlord policy diff`: the diff cannot be made (its 1 and 2 say what the change does).
CANNOT_TELL = 4
INTERRUPTED = 130
EXIT_CODES = {
    OK: "success",
    FAILED: "an error, or what was checked or waited for is not Ready (the message says why)",
    USAGE: "bad usage: an unknown option, a missing argument",
    NOT_FOUND: "the object named does not exist",
    CANNOT_TELL: "`landlord policy diff` cannot tell what a policy change does (a policy does "
    "not load, a revision or the operator's record cannot be read)",
    INTERRUPTED: "interrupted (Ctrl-C)",
}

FORMATS = ("table", "wide", "json", "yaml")
F = TypeVar("F", bound=Callable[..., Any])


def output_option(function: F) -> F:
    """``-o/--output table|wide|json|yaml``."""
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table, wide (more columns), json or yaml (for scripts: exactly the data).",
    )(function)


def structured(output: str) -> bool:
    """True for json and yaml: print data, not a table."""
    return output in ("json", "yaml")


def emit(data: Any, output: str) -> None:
    """Print ``data`` as JSON or YAML on stdout, undecorated."""
    if output == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip())


def table(*columns: str) -> Table:
    """A kubectl-like table: no borders, headers in capitals, never cut off a terminal."""
    return Table(*columns, box=None, pad_edge=False)
