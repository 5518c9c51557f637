r"""Landlord's glob for policy actions and objects.

``*`` and ``?`` stay inside one ``/``-separated segment (as in Casbin's own
``globMatch``), ``**`` crosses segments, ``[...]`` is a character class and
``\`` escapes the next character. A pattern without any of these is compared
literally.
"""

from __future__ import annotations

import functools
import re

_SPECIAL = frozenset("*?[\\")


def is_pattern(value: str) -> bool:
    """Whether ``value`` holds any glob syntax."""
    return not _SPECIAL.isdisjoint(value)


Token = tuple[str, bool]
"""One step of a glob: a regular expression for one character, and whether it repeats."""


@functools.lru_cache(maxsize=65_536)
def tokens(pattern: str) -> tuple[Token, ...]:
    """``pattern`` as steps of one character each (``*`` is ``([^/], True)``).

    The regular expression of :func:`compile_glob` is these steps joined, so the
    line checker (``lint``), which reasons about them as an automaton, and the
    engine, which runs the regular expression, read a pattern the same way.
    """
    out: list[Token] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                out.append((".", True))
                while i < n and pattern[i] == "*":
                    i += 1
                continue
            out.append(("[^/]", True))
        elif c == "?":
            out.append(("[^/]", False))
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append((re.escape(c), False))
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith(("!", "^"))
                body = body[1:] if negate else body
                body = body.replace("\\", "\\\\")
                out.append((f"[^/{body}]" if negate else f"[{body}]", False))
                i = end
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append((re.escape(pattern[i]), False))
        else:
            out.append((re.escape(c), False))
        i += 1
    return tuple(out)


@functools.lru_cache(maxsize=65_536)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regular expression for ``pattern``, anchored at both ends."""
    return re.compile(
        "".join(f"{one}*" if repeats else one for one, repeats in tokens(pattern)), re.DOTALL
    )


def matches(value: str, pattern: str) -> bool:
    """Whether ``value`` matches the glob ``pattern``."""
    if not is_pattern(pattern):
        return value == pattern
    return compile_glob(pattern).fullmatch(value) is not None
