"""Parse untrusted YAML: no custom tags, bounded aliases, size and depth caps, no duplicate keys."""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from landlord import errors
from landlord.api import reasons

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 1_000_000  # what the document becomes once aliases are expanded
# Nodes one text may have as written, counted from the parser's events before
# anything is composed: composing and constructing are Python work that holds
# the operator's GIL, so an oversized text is refused before it costs that.
MAX_NODES = 250_000
# Nodes of all the texts of one revision together (a 5,000-object revision of
# 200 nodes each): bounds the Python work one revision can cost.
MAX_REVISION_NODES = 1_000_000


class NodeBudget:
    """The YAML nodes one revision may still spend, across all its files."""

    def __init__(self, total: int = MAX_REVISION_NODES) -> None:
        self.total = total
        self.left = total

    def spend(self, nodes: int, source: str) -> None:
        self.left -= nodes
        if self.left < 0:
            raise YamlError(
                f"{source}: the revision has more than {self.total} YAML nodes in all; "
                "keep large data out of Git"
            )


class YamlError(errors.TerminalError):
    """A document cannot be used; the message names the file and document."""

    reason = reasons.BUILD_FAILED


@dataclasses.dataclass(frozen=True)
class Document:
    """One parsed YAML document and where it came from."""

    source: str
    index: int
    body: dict[str, Any]


# libyaml when it is there (five times faster to compose); construction stays Python.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """A safe loader that refuses duplicate keys (aliases and depth: :func:`_scan`)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes in the tree with every alias expanded, computed in linear time."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = 1  # a cycle counts once (SafeLoader cannot build one anyway)
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    size = min(size, MAX_EXPANDED_NODES + 1)
    memo[id(node)] = size
    return size


def load_all_raw(text: str, source: str) -> list[dict[str, Any]]:
    """Every mapping document in ``text``, safely, without the manifest checks."""
    return [doc.body for doc in _parse(text, source)]


def load_all(text: str, source: str, budget: NodeBudget | None = None) -> list[Document]:
    """Every manifest in ``text``: each must have apiVersion, kind and metadata.name.

    With ``budget``, the text's nodes are taken from the revision's node budget.
    """
    documents = _parse(text, source, budget)
    for document in documents:
        missing = [
            field
            for field, present in (
                ("apiVersion", document.body.get("apiVersion")),
                ("kind", document.body.get("kind")),
                ("metadata.name", (document.body.get("metadata") or {}).get("name")),
            )
            if not present
        ]
        if missing:
            raise YamlError(f"{source}: document {document.index} has no {', '.join(missing)}")
    return documents


def _scan(text: str, source: str) -> int:
    """Count nodes, aliases and depth from the parser's events alone (cheap, in libyaml).

    Refuses a text with more than :data:`MAX_NODES` nodes, :data:`MAX_ALIASES`
    aliases or :data:`MAX_DEPTH` levels before any node is built.
    """
    nodes = aliases = depth = 0
    index = -1
    try:
        for event in yaml.parse(text, Loader=_Base):
            if isinstance(event, yaml.DocumentStartEvent):
                index += 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise YamlError(
                        f"{source}: document {index}: more than {MAX_ALIASES} aliases "
                        "(a YAML bomb?)"
                    )
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlError(
                        f"{source}: document {index}: nesting deeper than {MAX_DEPTH} levels"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise YamlError(
                        f"{source}: more than {MAX_NODES} YAML nodes; split it, or keep large "
                        "data out of Git"
                    )
    except yaml.YAMLError as error:
        raise YamlError(f"{source}: document {max(index, 0)}: {error}") from None
    return nodes


def _parse(text: str, source: str, budget: NodeBudget | None = None) -> list[Document]:
    """Every non-empty document in ``text``; YamlError names ``source`` and the index."""
    if len(text.encode()) > MAX_DOCUMENT_BYTES:
        raise YamlError(f"{source}: larger than {MAX_DOCUMENT_BYTES} bytes")
    nodes = _scan(text, source)
    if budget is not None:
        budget.spend(nodes, source)
    documents = []
    loader = _Loader(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            if _expanded_size(node, {}) > MAX_EXPANDED_NODES:
                raise yaml.YAMLError(
                    f"expands to more than {MAX_EXPANDED_NODES} nodes through aliases (a YAML bomb)"
                )
            body = loader.construct_document(node)
            if body is not None:
                if not isinstance(body, dict):
                    raise YamlError(f"{source}: document {index} is not a mapping")
                documents.append(Document(source, index, body))
            index += 1
    except yaml.YAMLError as error:
        raise YamlError(f"{source}: document {index}: {error}") from None
    finally:
        loader.dispose()
    return documents
