"""kwok's fake nodes: the Node objects kwok adopts and keeps Ready."""

from __future__ import annotations

from typing import Any

from landlord.cluster import components

CAPACITY = {"cpu": "32", "memory": "256Gi", "pods": "250", "ephemeral-storage": "1Ti"}


def name(index: int) -> str:
    """The name of the ``index``-th fake node."""
    return f"kwok-node-{index}"


def manifest(node_name: str) -> dict[str, Any]:
    """A Node that kwok (started with our annotation selector) will manage."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node_name,
            "annotations": {
                components.KWOK_NODE_ANNOTATION: components.KWOK_NODE_VALUE,
                "node.alpha.kubernetes.io/ttl": "0",
            },
            "labels": {
                "kubernetes.io/hostname": node_name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/agent": "",
                "type": "kwok",
            },
        },
        "spec": {},
        "status": {"allocatable": dict(CAPACITY), "capacity": dict(CAPACITY)},
    }


def is_ready(node: dict[str, Any]) -> bool:
    """Whether a Node's Ready condition is True."""
    for condition in node.get("status", {}).get("conditions", []) or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False
