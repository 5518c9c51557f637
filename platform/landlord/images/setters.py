"""Rewrite the image fields a repository marks for an ImagePolicy, keeping every other byte.

Flux's setter markers: a line comment ``# {"$imagepolicy": "NS:NAME"}`` after a
YAML scalar replaces the scalar with the policy's latest image
(``host/app:1.2.3``); ``"NS:NAME:tag"`` with its tag only (``1.2.3``), and
``"NS:NAME:name"`` with its name only (``host/app``). The marked scalar may be
a block mapping value (``image: x:1 # {...}``), a list item (``- x:1 # {...}``)
or both (``- image: x:1 # {...}``), plain or quoted.

The files are edited line by line as text, not loaded and dumped: comments,
blank lines, quoting, indentation, key order, document separators and line
endings (CRLF too) stay as they were. What is left alone: a marker on a
comment-only line or inside a block scalar (``|``/``>``), a flow collection, a
value with an anchor, alias or tag, a marker naming a policy not in
``images``, and a marker whose JSON does not parse. A value written plain
that YAML would read as something other than a string (``1.10`` is the float
1.1) is written double-quoted, so a chart's ``tag:`` keeps the exact tag.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
from collections.abc import Callable, Iterator, Mapping

MARKER_KEY = "$imagepolicy"
YAML_SUFFIXES = (".yaml", ".yml")
# What one run reads in all (``max_files`` files of ``max_file_bytes`` would be
# gigabytes held at once) and the changes it makes: past either, nothing is written.
MAX_TOTAL_BYTES = 64 * 1024**2
MAX_CHANGES = 10_000

# What the latest image of a policy may look like before it is written into a
# tenant's file: host[:port]/path, an optional tag, an optional digest. Nothing
# YAML would read as syntax (quotes, "#", ": ", newlines) can pass.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*(?::[0-9]+)?(?:/[A-Za-z0-9._/-]+)?\Z")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Fa-f0-9]{32,}\Z")
# Plain scalars YAML 1.1 or 1.2 resolves to something other than a string.
_NOT_A_STRING = re.compile(
    r"^(?:[-+]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|[-+]?\d[\d_]*(?::[0-5]?\d)+(?:\.\d*)?"
    r"|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL|~|)$"
)
_BLOCK_SCALAR = re.compile(r"^[|>][0-9+-]*$")
_SEQUENCE_ENTRY = re.compile(r"-(?:[ \t]+|$)")


class InvalidImageError(ValueError):
    """A policy's latest image is not an image reference; nothing is written."""


class TooManyFilesError(ValueError):
    """The folder holds more YAML files (or bytes, or changes) than allowed; nothing is written."""


@dataclasses.dataclass(frozen=True)
class Change:
    """One rewritten field: where, by which marker, from what to what."""

    file: str
    line: int  # 1-based
    setter: str  # the marker's value: "ns:name", "ns:name:tag" or "ns:name:name"
    old: str
    new: str


@dataclasses.dataclass(frozen=True)
class _Marked:
    """A scalar on one line carrying a marker: its span in the line, its style, the marker."""

    start: int
    end: int
    quote: str  # '"', "'" or "" (plain)
    value: str  # unquoted
    setter: str


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """``host/app:1.2@sha256:…`` as name, tag and digest; InvalidImageError if it is not one."""
    rest, at, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    name, tag = (rest[:colon], rest[colon + 1 :]) if colon > slash else (rest, None)
    if (
        not _NAME.match(name)
        or (tag is not None and not _TAG.match(tag))
        or (at and not _DIGEST.match(digest))
    ):
        raise InvalidImageError(f"{image[:200]!r} is not an image reference (host/path:tag)")
    return name, tag, digest if at else None


def rewrite(text: str, images: Mapping[str, str], *, file: str = "") -> tuple[str, list[Change]]:
    """``text`` with every marked field set from ``images`` ("ns:name" → latest image).

    Raises :class:`InvalidImageError` when an image a marker asks for is not an
    image reference. Returns the text unchanged (the same string) and no change
    when nothing differs.
    """
    lines = text.split("\n")
    changes: list[Change] = []
    for number, marked, line in _marked_lines(lines):
        policy, _, part = _parse_setter(marked.setter)
        image = images.get(policy)
        if image is None:
            continue  # a marker for another automation, or a policy not ready
        name, tag, digest = split_image(image)
        if part == "":
            new = image
        elif part == "name":
            new = name
        else:  # "tag"
            if tag is None:
                continue  # a digest-only image has no tag to set
            new = f"{tag}@{digest}" if digest else tag
        if new == marked.value:
            continue
        lines[number] = line[: marked.start] + _quoted(new, marked.quote) + line[marked.end :]
        changes.append(Change(file, number + 1, marked.setter, marked.value, new))
    return ("\n".join(lines) if changes else text), changes


def _quoted(value: str, quote: str) -> str:
    if quote == "'":
        return "'" + value.replace("'", "''") + "'"
    if quote == '"' or _NOT_A_STRING.match(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _parse_setter(setter: str) -> tuple[str, str, str]:
    """``ns:name[:tag|:name]`` as ("ns:name", ":", part); part "" for the whole image."""
    parts = setter.split(":")
    if len(parts) == 2 and all(parts):
        return setter, "", ""
    if len(parts) == 3 and parts[0] and parts[1] and parts[2] in ("tag", "name"):
        return f"{parts[0]}:{parts[1]}", ":", parts[2]
    return "", "", "unknown"


def _marked_lines(lines: list[str]) -> Iterator[tuple[int, _Marked, str]]:
    """Lines holding a marked scalar, outside block scalars: (index, the scalar, the line)."""
    block_indent: int | None = None  # inside a block scalar: content is deeper than this
    for number, raw in enumerate(lines):
        line = raw[:-1] if raw.endswith("\r") else raw
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if block_indent is not None:
            if not stripped.strip() or indent > block_indent:
                continue
            block_indent = None
        if line.startswith(("---", "...")) and line[3:4] in ("", " ", "\t"):
            continue
        if not stripped or stripped.startswith("#"):
            continue
        parsed = _scalar(line, indent)
        if parsed is None:
            continue
        node_indent, start, end, quote, rest = parsed
        value_text = line[start:end]
        if quote == "" and _BLOCK_SCALAR.match(value_text):
            block_indent = node_indent
            continue
        setter = _marker(rest)
        if setter is None or not _parse_setter(setter)[0]:
            continue
        value = _unquote(value_text, quote)
        if value is None:
            continue
        yield number, _Marked(start, end, quote, value, setter), raw


def _scalar(line: str, indent: int) -> tuple[int, int, int, str, str] | None:
    """The value scalar of a block line: (node indent, start, end, quote, text after it)."""
    position = node_indent = indent
    while True:  # "- ", "- - ": sequence entries, each a node deeper
        entry = _SEQUENCE_ENTRY.match(line, position)
        if not entry:
            break
        node_indent, position = position, entry.end()
    scanned = _token(line, position)
    if scanned is None:
        return None
    start, end, quote = scanned
    after = line[end:]
    key = re.match(r"[ \t]*:(?:[ \t]+|$)", after)
    if key:  # that was a key; the value follows it
        node_indent = position
        position = end + key.end()
        scanned = _token(line, position)
        if scanned is None:
            return None
        start, end, quote = scanned
    if start == end:
        return None  # no value on this line (a nested block), nothing to set
    return node_indent, start, end, quote, line[end:]


def _token(line: str, position: int) -> tuple[int, int, str] | None:
    """A scalar starting at ``position``: (start, end, quote); None for anything else."""
    if position >= len(line):
        return position, position, ""
    first = line[position]
    if first == '"':
        match = re.compile(r'"(?:[^"\\]|\\.)*"').match(line, position)
        return (position, match.end(), '"') if match else None
    if first == "'":
        match = re.compile(r"'(?:[^']|'')*'").match(line, position)
        return (position, match.end(), "'") if match else None
    if first in "[]{}&*!%@`,?" or first == "#":
        return None  # flow collections, anchors, aliases, tags, directives, comments
    end = position
    while end < len(line):
        if line[end] == "#" and line[end - 1] in " \t":
            break  # a comment starts
        if line[end] == ":" and (end + 1 == len(line) or line[end + 1] in " \t"):
            break  # a key ends
        end += 1
    while end > position and line[end - 1] in " \t":
        end -= 1
    return position, end, ""


def _marker(rest: str) -> str | None:
    """The setter a trailing ``# {"$imagepolicy": "..."}`` names, or None."""
    match = re.match(r"[ \t]+#(.*)$", rest)
    if not match:
        return None
    comment = match.group(1).strip()
    if MARKER_KEY not in comment:
        return None
    try:
        data = json.loads(comment)
    except ValueError:
        return None
    setter = data.get(MARKER_KEY) if isinstance(data, dict) else None
    return setter if isinstance(setter, str) else None


def _unquote(text: str, quote: str) -> str | None:
    if quote == "":
        return text
    if quote == "'":
        return text[1:-1].replace("''", "'")
    try:
        value = json.loads(text)  # an image never needs YAML-only escapes
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def rewrite_tree(
    root: pathlib.Path,
    path: str,
    images: Mapping[str, str],
    *,
    max_files: int,
    max_file_bytes: int,
    on_skip: Callable[[str, str], None] | None = None,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_changes: int = MAX_CHANGES,
) -> tuple[dict[str, bytes], list[Change]]:
    """Rewrite the YAML files under ``root/path``: changed files (relative to root) and changes.

    ``path`` may not leave ``root`` (ValueError); no symbolic link is followed;
    more than ``max_files`` YAML files, ``max_total_bytes`` read or ``max_changes``
    changes is :class:`TooManyFilesError`; a file over ``max_file_bytes`` or not
    UTF-8 is skipped and passed to ``on_skip`` (path, why).
    Nothing is written: the caller commits the returned contents.
    """
    changed: dict[str, bytes] = {}
    changes: list[Change] = []
    read = 0
    for relative, text in _yaml_files(root, path, max_files, max_file_bytes, on_skip):
        read += len(text)
        if read > max_total_bytes:
            raise TooManyFilesError(
                f"spec.update.path {path!r} holds more than {max_total_bytes} bytes of YAML "
                "(the platform's limit); point it at a smaller folder"
            )
        if MARKER_KEY not in text:
            continue
        new, found = rewrite(text, images, file=relative)
        if found:
            changed[relative] = new.encode()
            changes.extend(found)
            if len(changes) > max_changes:
                raise TooManyFilesError(
                    f"spec.update.path {path!r} has more than {max_changes} marked fields to "
                    "change (the platform's limit); nothing was written"
                )
    return changed, changes


def markers(
    root: pathlib.Path,
    path: str,
    *,
    max_files: int,
    max_file_bytes: int,
    on_skip: Callable[[str, str], None] | None = None,
) -> set[str]:
    """The policies ("namespace:name") the marked fields under ``root/path`` refer to."""
    found: set[str] = set()
    for _, text in _yaml_files(root, path, max_files, max_file_bytes, on_skip):
        if MARKER_KEY not in text:
            continue
        for _, marked, _ in _marked_lines(text.split("\n")):
            found.add(_parse_setter(marked.setter)[0])
    return found


def folder(root: pathlib.Path, path: str) -> pathlib.Path:
    """``root/path`` resolved; ValueError when it leaves ``root``."""
    base = root.resolve()
    target = (base / path).resolve()
    if target != base and base not in target.parents:
        raise ValueError(f"spec.update.path {path!r} leaves the repository")
    return target


def _yaml_files(
    root: pathlib.Path,
    path: str,
    max_files: int,
    max_file_bytes: int,
    on_skip: Callable[[str, str], None] | None,
) -> Iterator[tuple[str, str]]:
    base = root.resolve()
    target = folder(root, path)
    if not target.is_dir():
        raise ValueError(f"spec.update.path {path!r} is not a folder of the repository")
    found: list[pathlib.Path] = []
    for current, folders, files in os.walk(target, followlinks=False):
        folders[:] = sorted(f for f in folders if f != ".git")
        for name in sorted(files):
            candidate = pathlib.Path(current) / name
            if not name.endswith(YAML_SUFFIXES) or candidate.is_symlink():
                continue
            found.append(candidate)
            if len(found) > max_files:
                raise TooManyFilesError(
                    f"spec.update.path {path!r} holds more than {max_files} YAML files "
                    "(the platform's limit); point it at a smaller folder"
                )
    for candidate in found:
        relative = str(candidate.relative_to(base))
        size = candidate.lstat().st_size
        if size > max_file_bytes:
            if on_skip:
                on_skip(relative, f"larger than {max_file_bytes} bytes")
            continue
        with candidate.open("rb") as handle:
            data = handle.read(max_file_bytes + 1)
        if len(data) > max_file_bytes:  # grew since it was measured
            if on_skip:
                on_skip(relative, f"larger than {max_file_bytes} bytes")
            continue
        try:
            text = data.decode()
        except UnicodeDecodeError:
            if on_skip:
                on_skip(relative, "not UTF-8")
            continue
        yield relative, text
