"""Commit messages of an ImageUpdateAutomation: Flux's ``messageTemplate``, a documented subset.

A template is Go ``text/template`` text; Landlord understands the part of it
Flux's examples use, and refuses the rest with a message naming what it met
(a template is never evaluated as code):

- ``{{ .AutomationObject }}`` (``namespace/name``), ``.AutomationObject.Name``,
  ``.AutomationObject.Namespace``;
- ``{{ range .Changed.Changes }}…{{ end }}`` with ``.OldValue``, ``.NewValue``
  and ``.Setter`` inside (or ``{{ range $i, $c := .Changed.Changes }}`` with
  ``$c.OldValue``…);
- ``{{ range $filename, $_ := .Changed.FileChanges }}…{{ $filename }}…{{ end }}``
  (files in name order);
- comments ``{{/* … */}}`` and the ``{{-``/``-}}`` whitespace trimming.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence

from landlord.images.setters import Change


class InvalidTemplateError(ValueError):
    """The template uses something outside the supported subset, or renders nothing."""


MAX_MESSAGE_BYTES = 64 * 1024
MAX_LISTED = 100  # changes named one by one in the default message

_SPACE = " \t\r\n"
_VARIABLE = r"\$[A-Za-z_][A-Za-z0-9_]*"
# "range .Changed.Changes", "range $c := …" (the element), "range $i, $c := …" (index, element)
_RANGE_CHANGES = re.compile(
    rf"^range\s+(?:(?:(?:{_VARIABLE})\s*,\s*)?(?P<var>{_VARIABLE})\s*:=\s*)?\.Changed\.Changes$"
)
# Over a map, Go's one-variable form names the value: the file name needs two.
_RANGE_FILES = re.compile(
    rf"^range\s+(?P<var>{_VARIABLE})\s*,\s*(?:{_VARIABLE})\s*:=\s*\.Changed\.FileChanges$"
)
_FIELD = re.compile(r"^(?:\$(?:[A-Za-z_][A-Za-z0-9_]*)?)?(?:\.[A-Za-z]+)*$")
_CHANGE_FIELDS = {"OldValue": "old", "NewValue": "new", "Setter": "setter"}


@dataclasses.dataclass(frozen=True)
class _Text:
    text: str


@dataclasses.dataclass(frozen=True)
class _Field:
    expression: str


@dataclasses.dataclass(frozen=True)
class _Range:
    over: str  # "changes" or "files"
    variable: str | None
    body: tuple[_Text | _Field | _Range, ...]


Node = _Text | _Field | _Range


def validate(template: str) -> None:
    """Raise :class:`InvalidTemplateError` when ``render`` would refuse ``template``."""
    _check(_parse(template), scope=None)


def render(template: str | None, *, automation: str, changes: Sequence[Change]) -> str:
    """The commit message for ``changes`` made by ``automation`` (``namespace/name``)."""
    if template is None or not template.strip():
        return _capped(_default(automation, changes))
    nodes = _parse(template)
    _check(nodes, scope=None)
    out = _Out(MAX_MESSAGE_BYTES)
    _render(nodes, automation, changes, None, None, out)
    message = "".join(out)
    if changes and not message.strip():  # without changes there is nothing to commit anyway
        raise InvalidTemplateError("spec.git.commit.messageTemplate renders an empty message")
    return _capped(message)


def _capped(message: str) -> str:
    """At most MAX_MESSAGE_BYTES (git takes the message as one argument, 128 KiB at most)."""
    encoded = message.encode()
    if len(encoded) > MAX_MESSAGE_BYTES:
        message = encoded[:MAX_MESSAGE_BYTES].decode(errors="ignore") + "\n…"
    return message


def _default(automation: str, changes: Sequence[Change]) -> str:
    lines = [f"Update images from ImageUpdateAutomation {automation}", ""]
    for change in changes[:MAX_LISTED]:
        lines.append(
            f"- {change.file}:{change.line} {change.old} -> {change.new} ({change.setter})"
        )
    if len(changes) > MAX_LISTED:
        lines.append(f"- … and {len(changes) - MAX_LISTED} more")
    return "\n".join(lines).rstrip() + "\n"


def _actions(template: str) -> Iterator[tuple[int, int, bool, str, bool]]:
    """Each ``{{…}}``: (start, end, ``{{-``, the action, ``-}}``), in one pass over the text.

    No regex: a lazy ``{{(.*?)}}`` rescans to the end from every unclosed ``{{``,
    and 8,192 of them (16 KiB, what the CRD allows) took 5 s with the GIL held.
    """
    position = 0
    while True:
        start = template.find("{{", position)
        if start < 0:
            return
        end = template.find("}}", start + 2)
        if end < 0:
            return  # the tail holds an unclosed "{{": the caller says so
        inner = template[start + 2 : end]
        trim_before = len(inner) >= 2 and inner[0] == "-" and inner[1] in _SPACE
        if trim_before:
            inner = inner[2:]
        trim_after = len(inner) >= 2 and inner[-1] == "-" and inner[-2] in _SPACE
        if trim_after:
            inner = inner[:-2]
        yield start, end + 2, trim_before, inner, trim_after
        position = end + 2


def _parse(template: str) -> list[Node]:
    """The template as nodes; ``{{-``/``-}}`` trim the neighbouring text as Go does."""
    pieces: list[str | tuple[str]] = []  # text, or (action,)
    position = 0
    trim_next = False
    for start, end, trim_before, action, trim_after in _actions(template):
        text = template[position:start]
        if trim_next:
            text = text.lstrip(_SPACE)
        if trim_before:
            text = text.rstrip(_SPACE)
        pieces.append(text)
        pieces.append((action.strip(),))
        trim_next = trim_after
        position = end
    tail = template[position:]
    pieces.append(tail.lstrip(" \t\r\n") if trim_next else tail)
    if "{{" in tail:
        raise InvalidTemplateError("spec.git.commit.messageTemplate has an unclosed '{{'")
    stack: list[tuple[str, str | None, list[Node]]] = [("top", None, [])]
    for piece in pieces:
        body = stack[-1][2]
        if isinstance(piece, str):
            if piece:
                body.append(_Text(piece))
            continue
        action = piece[0]
        if action.startswith("/*") and action.endswith("*/"):
            continue
        if action == "end":
            if len(stack) == 1:
                raise InvalidTemplateError(
                    "spec.git.commit.messageTemplate has an {{ end }} without a {{ range }}"
                )
            over, variable, nodes = stack.pop()
            stack[-1][2].append(_Range(over, variable, tuple(nodes)))
            continue
        changes = _RANGE_CHANGES.match(action)
        files = _RANGE_FILES.match(action)
        if changes or files:
            found = changes or files
            assert found is not None
            stack.append(("changes" if changes else "files", found.group("var"), []))
            continue
        if action and _FIELD.match(action):
            body.append(_Field(action))
            continue
        raise InvalidTemplateError(
            f"spec.git.commit.messageTemplate: {{{{ {action[:60]} }}}} is not supported; Landlord "
            "understands .AutomationObject, range .Changed.Changes (.OldValue, .NewValue, "
            ".Setter) and range $filename, $_ := .Changed.FileChanges"
        )
    if len(stack) != 1:
        raise InvalidTemplateError(
            "spec.git.commit.messageTemplate has a {{ range }} without its {{ end }}"
        )
    return stack[0][2]


def _check(nodes: Sequence[Node], scope: _Range | None) -> None:
    """Every field makes sense where it stands (no ``.OldValue`` outside a range of changes)."""
    for node in nodes:
        if isinstance(node, _Range):
            if scope is not None:
                raise InvalidTemplateError(
                    "spec.git.commit.messageTemplate: a {{ range }} inside a {{ range }} "
                    "is not supported"
                )
            _check(node.body, node)
        elif isinstance(node, _Field) and _value(node.expression, "", None, scope) is None:
            raise InvalidTemplateError(
                f"spec.git.commit.messageTemplate: {{{{ {node.expression} }}}} means nothing "
                + ("here" if scope else "outside a {{ range }}")
            )


def _value(
    expression: str, automation: str, item: Change | str | None, scope: _Range | None
) -> str | None:
    """What ``expression`` prints, or None when it names nothing in this scope."""
    namespace, _, name = automation.partition("/")
    # "$" is the top-level data everywhere; "." is it only outside a range.
    top = expression[1:] if expression.startswith("$.") else None
    if top is None and scope is None and expression.startswith("."):
        top = expression
    if top is not None:
        return {
            ".AutomationObject": automation,
            ".AutomationObject.Name": name,
            ".AutomationObject.Namespace": namespace,
        }.get(top)
    if scope is None:
        return None
    if scope.over == "changes":
        field = None
        if expression.startswith(".") and expression.count(".") == 1:
            field = expression[1:]
        elif scope.variable and expression.startswith(scope.variable + "."):
            field = expression[len(scope.variable) + 1 :]
        if field in _CHANGE_FIELDS:
            return str(getattr(item, _CHANGE_FIELDS[field])) if isinstance(item, Change) else ""
        return None
    if expression == scope.variable and scope.variable != "$":
        return item if isinstance(item, str) else ""
    return None


class _Out(list[str]):
    """The rendered pieces, up to a little past ``cap`` characters: the rest is never made.

    A 16 KiB range body over a repository's many thousand changes would otherwise be
    gigabytes before the message is cut to its size.
    """

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap
        self.size = 0

    def append(self, text: str) -> None:
        if self.size <= self.cap:
            super().append(text)
            self.size += len(text)

    @property
    def full(self) -> bool:
        return self.size > self.cap


def _render(
    nodes: Sequence[Node],
    automation: str,
    changes: Sequence[Change],
    item: Change | str | None,
    scope: _Range | None,
    out: _Out,
) -> None:
    for node in nodes:
        if out.full:
            return
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Field):
            out.append(_value(node.expression, automation, item, scope) or "")
        elif node.over == "changes":
            for change in changes:
                _render(node.body, automation, changes, change, node, out)
        else:
            for file in sorted({change.file for change in changes}):
                _render(node.body, automation, changes, file, node, out)
