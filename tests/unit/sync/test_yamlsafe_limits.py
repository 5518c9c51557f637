"""Untrusted YAML is measured from the parser's events before any node is built."""

from __future__ import annotations

import pytest

from landlord.gitops import yamlsafe
from landlord.gitops.yamlsafe import YamlError


def _wide(count: int) -> str:
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  k: ["
        + ",".join(["0"] * count)
        + "]\n"
    )


def test_a_text_with_too_many_nodes_is_refused_before_it_is_composed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never(*args: object) -> None:
        raise AssertionError("composed a text the event count should have refused")

    monkeypatch.setattr(yamlsafe, "_Loader", never)
    with pytest.raises(YamlError, match="YAML nodes"):
        yamlsafe.load_all(_wide(yamlsafe.MAX_NODES + 10), "big.yaml")


def test_a_revision_spends_one_node_budget_across_its_files() -> None:
    budget = yamlsafe.NodeBudget(total=2_000)
    yamlsafe.load_all(_wide(900), "a.yaml", budget)
    yamlsafe.load_all(_wide(900), "b.yaml", budget)
    with pytest.raises(YamlError, match="the revision has more than 2000 YAML nodes"):
        yamlsafe.load_all(_wide(900), "c.yaml", budget)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a: " + "[" * (yamlsafe.MAX_DEPTH + 1) + "]" * (yamlsafe.MAX_DEPTH + 1), "deeper"),
        ("a: &a x\nb: [" + ",".join(["*a"] * (yamlsafe.MAX_ALIASES + 1)) + "]\n", "aliases"),
        ("a: 1\na: 2\n", "duplicate key"),
        ("a: !!python/object:os.system ls\n", "constructor"),
    ],
)
def test_depth_aliases_duplicates_and_tags(text: str, words: str) -> None:
    with pytest.raises(YamlError, match=words):
        yamlsafe.load_all_raw(text, "f.yaml")
