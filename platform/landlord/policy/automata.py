"""Globs as automata: the search that proves what a pattern can and cannot match.

Each glob becomes a deterministic automaton over the very character steps of
:func:`patterns.tokens`, so it matches exactly what the engine matches; "is
there an object this pattern matches and that one does not?" is a breadth-first
search of their product (:func:`example`), which also yields the shortest such
object. A search that would visit more than :data:`MAX_STATES` states raises
:class:`TooLargeError` instead of guessing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence

from landlord.policy import patterns

Spec = tuple[patterns.Token, ...]
# Automata bigger than this are not searched (the claim would be a guess).
MAX_STATES = 20_000


_Step = tuple[Callable[[str], bool], bool]


@functools.lru_cache(maxsize=4096)
def _steps(tokens: Spec) -> tuple[_Step, ...]:
    steps = []
    for one, repeats in tokens:
        compiled = re.compile(one, re.DOTALL)
        steps.append((functools.partial(_fullmatch, compiled), repeats))
    return tuple(steps)


def literal(one: str) -> str | None:
    unescaped = re.sub(r"\\(.)", r"\1", one, flags=re.DOTALL)
    return unescaped if len(unescaped) == 1 and re.escape(unescaped) == one else None


def _fullmatch(compiled: re.Pattern[str], char: str) -> bool:
    return compiled.fullmatch(char) is not None


def _tokens(glob: str | Spec) -> Spec:
    return patterns.tokens(glob) if isinstance(glob, str) else glob


class _Glob:
    """A glob as a deterministic automaton whose states are sets of step positions."""

    def __init__(self, glob: str | Spec) -> None:
        self.steps = _steps(_tokens(glob))
        self.start = self._closure({0})
        # The one character a plain literal step takes (a search tries only it).
        self.literal = [None if repeats else literal(one) for one, repeats in _tokens(glob)]

    def only(self, state: frozenset[int]) -> set[str] | None:
        """The only characters that lead anywhere from ``state``, when few are."""
        chars = set()
        for i in state:
            if i == len(self.steps):
                continue
            char = self.literal[i]
            if char is None:
                return None
            chars.add(char)
        return chars

    def _closure(self, positions: Iterable[int]) -> frozenset[int]:
        out = set(positions)
        frontier = list(out)
        while frontier:
            i = frontier.pop()
            if i < len(self.steps) and self.steps[i][1] and i + 1 not in out:
                out.add(i + 1)
                frontier.append(i + 1)
        return frozenset(out)

    def step(self, state: frozenset[int], char: str) -> frozenset[int]:
        nxt = set()
        for i in state:
            if i < len(self.steps):
                matches, repeats = self.steps[i]
                if matches(char):
                    nxt.add(i if repeats else i + 1)
        return self._closure(nxt)

    def accepts(self, state: frozenset[int]) -> bool:
        return len(self.steps) in state


@functools.lru_cache(maxsize=4096)
def _glob(glob: str | Spec) -> _Glob:
    return _Glob(glob)


_PREFERRED = "abcdefghijklmnopqrstuvwxyz0123456789/:.-_@ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _alphabet(globs: Sequence[str | Spec]) -> list[str]:
    """One character of each class no step of ``globs`` tells apart.

    Every step is a literal, ``[^/]``, ``.`` or a bracket class whose ranges
    end in characters written in the pattern; so each character written, its
    neighbours, all of ASCII and one character written nowhere represent every
    character there is.
    """
    chars = {chr(code) for code in range(128)}
    for glob in globs:
        for one, _ in _tokens(glob):
            for c in one:
                code = ord(c)
                chars.update(chr(n) for n in (code - 1, code, code + 1) if 0 <= n <= 0x10FFFF)
    fresh = 0xE000
    while chr(fresh) in chars:
        fresh += 1
    chars.add(chr(fresh))
    preferred = [c for c in _PREFERRED if c in chars]
    return preferred + sorted(chars - set(preferred))


class TooLargeError(Exception):
    """The search would visit more than :data:`MAX_STATES` states: no claim is made."""


@functools.lru_cache(maxsize=65_536)
def example(
    include: tuple[str | Spec, ...],
    exclude: tuple[str | Spec, ...] = (),
) -> str | None:
    """The shortest string every glob of ``include`` matches and none of ``exclude``.

    None when there is none. Raises :class:`TooLargeError` rather than guess.
    """
    globs = [_glob(p) for p in include]
    others = [_glob(p) for p in exclude]
    alphabet = _alphabet([*include, *exclude])
    start = (tuple(g.start for g in globs), tuple(g.start for g in others))
    parents: dict[object, tuple[object, str] | None] = {start: None}
    queue = [start]
    for state in queue:
        ins, outs = state
        if all(g.accepts(s) for g, s in zip(globs, ins, strict=True)) and not any(
            g.accepts(s) for g, s in zip(others, outs, strict=True)
        ):
            word = []
            at: object = state
            while (parent := parents[at]) is not None:
                at, char = parent
                word.append(char)
            return "".join(reversed(word))
        chars: Iterable[str] = alphabet
        for glob, at in zip(globs, ins, strict=True):
            only = glob.only(at)
            if only is not None:
                chars = [c for c in alphabet if c in only]
                break
        for char in chars:
            nxt_in = tuple(g.step(s, char) for g, s in zip(globs, ins, strict=True))
            if not all(nxt_in):
                continue
            nxt = (nxt_in, tuple(g.step(s, char) for g, s in zip(others, outs, strict=True)))
            if nxt not in parents:
                if len(parents) >= MAX_STATES:
                    raise TooLargeError(f"{include} minus {exclude}")
                parents[nxt] = (state, char)
                queue.append(nxt)
    return None


def prefix(pattern: str) -> str:
    """The literal characters ``pattern`` starts with."""
    out = []
    for one, repeats in patterns.tokens(pattern):
        char = None if repeats else literal(one)
        if char is None:
            break
        out.append(char)
    return "".join(out)
