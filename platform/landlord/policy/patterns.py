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
    return any(c in _SPECIAL for c in value)


@functools.lru_cache(maxsize=65_536)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regular expression for ``pattern``, anchored at both ends."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                while i < n and pattern[i] == "*":
                    i += 1
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith(("!", "^"))
                body = body[1:] if negate else body
                body = body.replace("\\", "\\\\")
                out.append(f"[^/{body}]" if negate else f"[{body}]")
                i = end
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def matches(value: str, pattern: str) -> bool:
    """Whether ``value`` matches the glob ``pattern``."""
    if not is_pattern(pattern):
        return value == pattern
    return compile_glob(pattern).fullmatch(value) is not None
