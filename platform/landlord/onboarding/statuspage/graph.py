"""Lay the dependency graph out in layers and draw it as SVG (no JavaScript needed).

A Kustomization sits one layer right of the deepest one it depends on, so every
edge points left, from a dependent to what it waits for. Nodes are links to
their tenant's page (focusable, with an accessible name that reads the state);
an edge carries a ``<title>`` with its policy decision, and a denied one is
drawn red and dashed, with the word "denied" on it.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from html import escape

from landlord.onboarding.statuspage.view import Edge, Graph, Node

WIDTH, HEIGHT = 210, 46  # a node
GAP_X, GAP_Y, MARGIN = 90, 18, 12


@dataclasses.dataclass(frozen=True)
class Placed:
    node: Node
    x: int
    y: int


def layers(drawn: Graph) -> dict[str, int]:
    """Each node's layer: 0 for one that depends on nothing drawn; cycles are cut."""
    depends: dict[str, list[str]] = {node.key: [] for node in drawn.nodes}
    for edge in drawn.edges:
        if edge.source in depends and edge.target in depends:
            depends[edge.source].append(edge.target)
    depth: dict[str, int] = {}

    def visit(key: str, path: frozenset[str]) -> int:
        if key in depth:
            return depth[key]
        below = [visit(t, path | {key}) for t in depends[key] if t not in path and t != key]
        depth[key] = 1 + max(below) if below else 0
        return depth[key]

    for key in sorted(depends):
        visit(key, frozenset())
    return depth


def place(drawn: Graph) -> dict[str, Placed]:
    """Coordinates of each node: columns by layer, rows by tenant then name."""
    depth = layers(drawn)
    columns: dict[int, list[Node]] = {}
    for node in drawn.nodes:
        columns.setdefault(depth[node.key], []).append(node)
    placed: dict[str, Placed] = {}
    for layer, nodes in columns.items():
        for row, node in enumerate(sorted(nodes, key=lambda n: (n.tenant, n.key))):
            placed[node.key] = Placed(
                node, MARGIN + layer * (WIDTH + GAP_X), MARGIN + row * (HEIGHT + GAP_Y)
            )
    return placed


def _state(node: Node) -> tuple[str, str]:
    if not node.known:
        return "missing", "does not exist"
    if node.ready is None:
        return "hidden", "outside your tenants"
    return {"True": ("ready", "Ready"), "False": ("failing", "Failing")}.get(
        node.ready.status, ("pending", "Pending")
    )


def _edge(edge: Edge, placed: dict[str, Placed]) -> str:
    start, end = placed[edge.source], placed[edge.target]
    x1, y1 = start.x, start.y + HEIGHT // 2
    x2, y2 = end.x + WIDTH, end.y + HEIGHT // 2
    if x2 >= x1:  # same layer (a cycle cut): loop out to the left and back
        x2 = end.x
    bend = max(abs(x1 - x2) // 2, 40)
    path = f"M{x1},{y1} C{x1 - bend},{y1} {x2 + bend},{y2} {x2},{y2}"
    if not edge.decision.allowed:
        kind = "denied"
    elif edge.cross_tenant:
        kind = "allowed"
    else:
        kind = "internal"
    title = f"{edge.source} depends on {edge.target}: " + (
        "allowed" if edge.decision.allowed else "DENIED"
    )
    title += f" ({edge.decision.why})"
    label = ""
    if kind == "denied":
        mx, my = (x1 + x2) // 2, (y1 + y2) // 2
        label = f'<text class="edge-label" x="{mx}" y="{my - 4}" text-anchor="middle">denied</text>'
    return (
        f'<g class="edge edge-{kind}" data-source="{escape(edge.source)}" '
        f'data-target="{escape(edge.target)}" data-decision="{kind}">'
        f"<title>{escape(title)}</title>"
        f'<path d="{path}" marker-end="url(#arrow-{kind})"/>{label}</g>'
    )


def _node(placed: Placed) -> str:
    node = placed.node
    state, word = _state(node)
    namespace, _, name = node.key.partition("/")
    label = f"Kustomization {node.key}" + (f", tenant {node.tenant}" if node.tenant else "")
    label += f": {word}"
    if node.ready is not None and node.ready.status != "True" and node.ready.message:
        label += f" ({node.ready.message[:200]})"
    body = (
        f'<rect x="{placed.x}" y="{placed.y}" width="{WIDTH}" height="{HEIGHT}" rx="6"/>'
        f'<text x="{placed.x + 10}" y="{placed.y + 19}" class="node-name">'
        f"{escape(_cut(name, 26))}</text>"
        f'<text x="{placed.x + 10}" y="{placed.y + 36}" class="node-meta">'
        f"{escape(_cut(namespace, 18))} · {escape(word)}</text>"
    )
    title = f"<title>{escape(label)}</title>"
    if node.tenant and node.ready is not None:
        href = f"/ui/tenants/{urllib.parse.quote(node.tenant, safe='')}"
        return (
            f'<a class="node node-{state}" href="{escape(href)}" data-key="{escape(node.key)}" '
            f'tabindex="0" aria-label="{escape(label)}">{title}{body}</a>'
        )
    return (
        f'<g class="node node-{state}" data-key="{escape(node.key)}" role="img" '
        f'aria-label="{escape(label)}">{title}{body}</g>'
    )


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def svg(drawn: Graph) -> str:
    """The graph as one ``<svg>`` element ('' when there is nothing to draw)."""
    if not drawn.nodes:
        return ""
    placed = place(drawn)
    width = max(p.x for p in placed.values()) + WIDTH + MARGIN
    height = max(p.y for p in placed.values()) + HEIGHT + MARGIN
    markers = "".join(
        f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse" class="marker-{kind}">'
        f'<path d="M0,0 L10,5 L0,10 z"/></marker>'
        for kind in ("internal", "allowed", "denied")
    )
    edges = "".join(
        _edge(edge, placed)
        for edge in drawn.edges
        if edge.source in placed and edge.target in placed
    )
    nodes = "".join(_node(placed[key]) for key in sorted(placed))
    return (
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="group" '
        f'aria-label="Dependency graph of Kustomizations">'
        f"<defs>{markers}</defs>{edges}{nodes}</svg>"
    )
