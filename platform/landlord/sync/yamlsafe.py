"""Parse untrusted YAML: no custom tags, bounded aliases, size and depth caps, no duplicate keys."""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from landlord import errors

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 1_000_000  # what the document becomes once aliases are expanded


class YamlError(errors.TerminalError):
    """A document cannot be used; the message names the file and document."""

    reason = "BuildFailed"


@dataclasses.dataclass(frozen=True)
class Document:
    """One parsed YAML document and where it came from."""

    source: str
    index: int
    body: dict[str, Any]


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and counts aliases and depth."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases (a YAML bomb?)")
        depth = getattr(self, "_depth", 0) + 1
        if depth > MAX_DEPTH:
            raise yaml.YAMLError(f"nesting deeper than {MAX_DEPTH} levels")
        self._depth = depth
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth = depth - 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


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


def load_all(text: str, source: str) -> list[Document]:
    """Every manifest in ``text``: each must have apiVersion, kind and metadata.name."""
    documents = _parse(text, source)
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


def _parse(text: str, source: str) -> list[Document]:
    """Every non-empty document in ``text``; YamlError names ``source`` and the index."""
    if len(text.encode()) > MAX_DOCUMENT_BYTES:
        raise YamlError(f"{source}: larger than {MAX_DOCUMENT_BYTES} bytes")
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
