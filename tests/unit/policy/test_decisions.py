"""Decisions: deny overrides allow, default deny, roles, globs, and the line that decided."""

from __future__ import annotations

import pathlib

import pytest

from landlord.policy import patterns
from landlord.policy.engine import DEFAULTS, Policy, Snapshot

MODEL = (DEFAULTS / "model.conf").read_text()
REPO_POLICIES = pathlib.Path(__file__).parents[3] / "policies"


def policy(text: str, model: str = MODEL) -> Policy:
    return Policy(Snapshot(model, text, "test"))


def test_the_shipped_folder_is_what_the_package_ships() -> None:
    assert DEFAULTS.resolve() == REPO_POLICIES.resolve()
    assert Policy.from_directory(REPO_POLICIES).indexed


def test_no_line_means_deny_and_names_no_rule() -> None:
    decision = policy("p, tenant:a, depend, b/db, allow").decide(["tenant:c"], "depend", "b/db")

    assert not decision.allowed
    assert decision.rule is None
    assert "no policy line allows tenant:c to depend b/db" in decision.explain()


def test_deny_overrides_allow_whatever_the_order() -> None:
    for text in (
        "p, tenant:a, depend, b/*, allow\np, tenant:a, depend, b/db, deny",
        "p, tenant:a, depend, b/db, deny\np, tenant:a, depend, b/*, allow",
    ):
        decision = policy(text).decide(["tenant:a"], "depend", "b/db")
        assert not decision.allowed
        assert decision.rule is not None
        assert decision.rule.fields[-1] == "deny"
        assert "denied by policy.csv:" in decision.explain()


def test_the_hint_says_to_narrow_a_deny_line_not_only_to_add_an_allow_line() -> None:
    text = "p, tenant:a, source, oci://**, allow\np, tenant:a, source, oci://bad.example/**, deny"
    denied = policy(text).decide(["tenant:a"], "source", "oci://bad.example/app")
    hint = denied.how_to_allow("tenant:a")
    assert denied.rule is not None
    assert "overrides every allow line" in hint
    assert f"removing {denied.rule.where}" in hint
    assert "`p, tenant:a, source, oci://bad.example/app, allow`" in hint

    default = policy(text).decide(["tenant:b"], "source", "oci://bad.example/app")
    assert default.how_to_allow("tenant:b") == (
        "A platform admin can allow it with a policy line such as "
        "`p, tenant:b, source, oci://bad.example/app, allow`"
    )


def test_roles_are_inherited_transitively_and_by_pattern() -> None:
    p = policy(
        "g, tenant:*, role:tenant\n"
        "g, role:tenant, role:base\n"
        "p, role:base, source, https://**, allow\n"
        "g, user:alice, group:admins\n"
        "g, group:admins, role:platform-admin\n"
        "p, role:platform-admin, api:*, tenants/*, allow\n"
    )

    assert p.decide(["tenant:x"], "source", "https://h/o/r.git").allowed
    assert p.roles("tenant:x") == {"tenant:x", "role:tenant", "role:base"}
    assert p.decide(["user:alice"], "api:delete", "tenants/x").allowed
    assert not p.decide(["user:bob"], "api:delete", "tenants/x").allowed
    assert not p.decide(["namespace:x"], "source", "https://h/o/r.git").allowed


def test_several_subjects_any_allow_and_any_deny_wins() -> None:
    p = policy(
        "p, group:devs, api:get, tenants/*, allow\np, user:mallory, api:get, tenants/*, deny\n"
    )

    assert p.decide(["user:bob", "group:devs"], "api:get", "tenants/a").allowed
    assert not p.decide(["user:mallory", "group:devs"], "api:get", "tenants/a").allowed


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("team-b/db", "team-b/*", True),
        ("team-b/x/db", "team-b/*", False),
        ("https://h/o/r.git", "*", False),
        ("https://h/o/r.git", "**", True),
        ("https://h/o/r.git", "https://h/**", True),
        ("https://h/o/r.git", "https://h/*", False),
        ("https://h/o/r.git", "https://h/*/*.git", True),
        ("apps/Deployment", "*/*", True),
        ("core/ConfigMap", "core/Config?ap", True),
        ("core/Config/ap", "core/Config?ap", False),
        ("a1", "a[0-9]", True),
        ("ax", "a[!0-9]", True),
        ("a/", "a[!0-9]", False),
        ("a*", r"a\*", True),
        ("ab", r"a\*", False),
        ("a.b", "a.b", True),
        ("axb", "a.b", False),
        ("api:create", "api:*", True),
    ],
)
def test_globs(value: str, pattern: str, expected: bool) -> None:
    assert patterns.matches(value, pattern) is expected


def test_star_alone_does_not_deny_urls_or_namespaced_names() -> None:
    # The pycasbin globMatch caveat kept on purpose: `*` stays in one segment.
    p = policy(
        "g, tenant:*, role:tenant\n"
        "p, role:tenant, source, **, allow\n"
        "p, tenant:a, source, *, deny\n"
        "p, tenant:b, source, **, deny\n"
    )

    assert p.decide(["tenant:a"], "source", "team-b/app").allowed
    assert not p.decide(["tenant:b"], "source", "team-b/app").allowed


def test_another_model_is_answered_by_casbin_itself() -> None:
    exact = MODEL.replace(
        "objectMatch(r.act, p.act) && objectMatch(r.obj, p.obj)",
        "r.act == p.act && r.obj == p.obj",
    )
    p = policy("p, tenant:a, depend, b/*, allow\np, tenant:a, depend, b/db, allow", exact)

    assert not p.indexed
    assert not p.decide(["tenant:a"], "depend", "b/other").allowed
    assert p.decide(["tenant:a"], "depend", "b/db").allowed
    denied = policy("p, tenant:a, depend, b/db, deny", exact).decide(["tenant:a"], "depend", "b/db")
    assert not denied.allowed
    assert denied.rule is not None
    assert denied.rule.line == 1


def test_decisions_are_cached_per_policy() -> None:
    p = policy("p, tenant:a, depend, b/db, allow")

    first = p.decide(["tenant:a"], "depend", "b/db")

    assert p.decide(["tenant:a"], "depend", "b/db") is first
    assert not policy("").decide(["tenant:a"], "depend", "b/db").allowed
