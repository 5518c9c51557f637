"""Shared terminal output: one rich console, progress bars for builds, error rendering."""

from __future__ import annotations

import contextlib
import io
import re
import sys
import typing
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

from rich.console import Console, ConsoleOptions, RenderableType
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.segment import Segment

from landlord import errors

# Off a terminal (a pipe, a file, CI) rich would lay tables out for 80 columns,
# wrapping or cutting cells; there a line is as long as its content needs.
UNLIMITED_WIDTH = 100_000


# Control and invisible formatting characters a tenant could put in a name, a URL or
# a message (ESC starts ANSI/OSC sequences that rewrite lines, set titles, write
# the clipboard; CR overwrites; bidi overrides reorder): never written. Rich lays
# them out as zero-width, so removing them keeps every column as it measured it.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def printable(text: str) -> str:
    """``text`` without control or formatting characters (newline and tab stay)."""
    return _UNSAFE.sub("", text)


class _SafeConsole(Console):
    """A console that never writes a control sequence it did not make itself.

    Everything printed passes :meth:`render`; the segments rich made for styles and
    cursor moves carry their codes apart from the text (``control``, ``style``), so
    cleaning the text leaves every layout and style intact.
    """

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or not _UNSAFE.search(segment.text):
                yield segment
            else:
                yield Segment(printable(segment.text), segment.style, segment.control)


class _Trimmed(io.TextIOBase):
    """Lines without the spaces rich pads a table's last column with (for diffs, grep, CI)."""

    def __init__(self, stream: Callable[[], TextIO]) -> None:
        self._stream = stream  # looked up at each write: tests swap sys.stdout
        self._pending = ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        target = self._stream()
        for line in lines:
            target.write(line.rstrip(" ") + "\n")
        return len(text)

    def flush(self) -> None:
        target = self._stream()
        if self._pending:  # a line without its end yet (a prompt): as it is
            target.write(self._pending)
            self._pending = ""
        target.flush()


def _console(*, stderr: bool) -> Console:
    """Colour and width from the terminal; off one, no colour, no width limit, no padding."""
    console = _SafeConsole(stderr=stderr, highlight=False)
    if not console.is_terminal:
        stream = (lambda: sys.stderr) if stderr else (lambda: sys.stdout)
        console = _SafeConsole(
            file=typing.cast(TextIO, _Trimmed(stream)),
            highlight=False,
            width=UNLIMITED_WIDTH,
            no_color=True,
        )
    return console


out = _console(stderr=False)
err = _console(stderr=True)

BuildProgress = Callable[[int, int | None, str], None]


@contextlib.contextmanager
def build_progress() -> Iterator[Callable[[str], BuildProgress]]:
    """A factory of progress callbacks, one bar per Go build group.

    On a terminal a live bar counts compiled packages against the number the
    build can need (cached packages are not compiled, so it may finish early);
    elsewhere (CI logs) a line every 100 packages.
    """
    live = err.is_terminal
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]building {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[what]}"),
        console=err,
        disable=not live,
    )

    def factory(description: str) -> BuildProgress:
        task = progress.add_task(description, total=None, what="", visible=False)
        announced = False

        def report(done: int, total: int | None, what: str) -> None:
            nonlocal announced
            if not announced:
                announced = True
                progress.update(task, visible=True)
                err.print(f"building {description} from Go modules (first run only; cached after)")
            progress.update(task, completed=done, total=total, what=what[-60:])
            if not live and (done % 100 == 0 or what == "done"):
                err.print(f"  {description}: {done}/{total or '?'} packages compiled ({what})")

        return report

    with progress:
        yield factory


def step(component: str, message: str) -> None:
    """One line of bring-up progress."""
    err.print(f"[cyan]{component:>24}[/cyan]  {message}")


def fail(error: errors.LandlordError) -> None:
    """Print an error and its hint; the caller exits non-zero."""
    # Messages quote what users wrote ([a-z] patterns, [brackets] in names): never markup.
    err.print(f"[bold red]error:[/bold red] {escape(error.message)}", soft_wrap=True)
    if error.hint:
        err.print(f"[yellow]hint:[/yellow] {escape(error.hint)}", soft_wrap=True)
    log_tail = getattr(error, "log_tail", "")
    if log_tail:
        err.print("[dim]last log lines:[/dim]")
        err.print(log_tail, markup=False, soft_wrap=True)
    sys.stderr.flush()
