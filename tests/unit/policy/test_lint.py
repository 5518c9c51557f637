"""The line checker: which lines it flags, why, and what it suggests instead."""

from __future__ import annotations

import pathlib

import pytest

from landlord.policy import lint, shapes
from landlord.policy.engine import DEFAULTS, Policy, PolicyError, Snapshot

MODEL = (DEFAULTS / "model.conf").read_text()


def _findings(text: str, model: str = MODEL) -> list[lint.Finding]:
    return lint.check_policy(Policy(Snapshot(model, text, "test")))


# (line, flagged, a piece of the suggestion)
NEVER_MATCHES = [
    ("p, tenant:x, source, *, deny", True, "** for source (*://** for every URL)"),
    ("p, tenant:x, source, *://*, deny", False, ""),
    ("p, tenant:x, source, *://**, deny", False, ""),
    ("p, tenant:x, source, **, deny", False, ""),
    ("p, tenant:x, source, https:*, deny", True, "did you mean https:**?"),
    ("p, tenant:x, source, https:/*, deny", True, "did you mean https:/**?"),
    ("p, tenant:x, source, team-b/*, deny", False, ""),
    ("p, tenant:x, depend, *, deny", True, "*/* for depend"),
    ("p, tenant:x, depend, ?*, deny", True, "*/* for depend"),
    ("p, tenant:x, depend, team-b, deny", True, "did you mean team-b/**?"),
    ("p, tenant:x, depend, team-b, allow", True, "did you mean team-b/*?"),
    ("p, tenant:x, depend, team-b*, deny", True, "did you mean team-b**?"),
    ("p, tenant:x, depend, team-b*, allow", True, "did you mean team-b*/*?"),
    ("p, tenant:x, depend, team-b/*, deny", False, ""),
    ("p, tenant:x, depend, team-b\\/db, deny", False, ""),
    ("p, tenant:x, depend, */*/*, deny", True, "*/* for depend"),
    ("p, tenant:x, depend, Team-B/*, allow", True, ""),
    ("p, tenant:x, depend, [a-z]*/[!x]*, deny", False, ""),
    ("p, tenant:x, depend, a[/]b, deny", False, ""),  # a class may match '/'
    ("p, tenant:x, depend, [/]*, deny", True, ""),  # but no namespace is empty
    ("p, tenant:x, apply, *, deny", True, "*/* for apply"),
    ("p, tenant:x, apply, core/*, deny", False, ""),
    ("p, tenant:x, apply, core/resource-quota, deny", True, ""),
    ("p, tenant:x, target, clusters/*, deny", False, ""),
    ("p, tenant:x, target, *, deny", True, "clusters/* for target"),
    ("p, tenant:x, target, prod/*, deny", True, "clusters/* for target"),
    ("p, tenant:x, api:get, *, deny", True, "tenants/* for api"),
    ("p, tenant:x, api:get, team-a, allow", True, "did you mean tenants/team-a?"),
    ("p, tenant:x, api:list, tenants/*, allow", True, "tenants for api"),
    ("p, tenant:x, api:list, tenants, allow", False, ""),
    ("p, tenant:x, api:*, *, deny", False, ""),  # api:list asks about `tenants`
    ("p, tenant:x, api:*, tenants/*, allow", False, ""),
    ("p, tenant:x, *, *, deny", True, "*/* for depend, ** for source"),
    ("p, tenant:x, *, **, deny", False, ""),
]


@pytest.mark.parametrize(("line", "flagged", "suggestion"), NEVER_MATCHES)
def test_a_line_that_matches_no_object_of_its_action_is_flagged(
    line: str, flagged: bool, suggestion: str
) -> None:
    found = _findings(line)

    if not flagged:
        assert found == []
        return
    (finding,) = found
    assert finding.kind == lint.NEVER_MATCHES
    assert finding.rule.where == "policy.csv:1"
    assert suggestion in finding.suggestion
    assert ("denies" if line.endswith("deny") else "allows") in finding.why


def test_the_message_names_the_line_the_reason_and_the_fix() -> None:
    (finding,) = _findings("# deny-all\np, tenant:x, source, *, deny")

    assert str(finding) == (
        "policy.csv:2: p, tenant:x, source, *, deny: '*' never matches a '/', and every "
        "source object has one (* and ? stay inside one /-separated segment; ** crosses "
        "segments), so this line denies nothing (source objects are a Git URL such as "
        "https://git.example.com/team-a/app.git, or a namespace/name such as team-b/charts); "
        "the pattern that matches every object is ** for source (*://** for every URL)"
    )


def test_a_line_that_misses_some_points_says_which() -> None:
    (finding,) = _findings("p, tenant:x, *, *, deny")

    assert "so this line denies no depend/source/apply/target/push request" in finding.why


# (policy, {line: (kind, other line)})
SHADOWS_AND_DUPLICATES = [
    (
        "p, tenant:x, depend, team-b/db, allow\np, tenant:x, depend, team-b/*, deny",
        {1: (lint.SHADOWED, 2)},
    ),
    (
        "g, tenant:*, role:tenant\n"
        "p, tenant:x, depend, team-b/db, allow\n"
        "p, role:tenant, depend, **, deny",
        {2: (lint.SHADOWED, 3)},
    ),
    (  # the deny is for a role the allow's subject does not have
        "p, role:infra-consumer, depend, infra/*, allow\np, tenant:sandbox, depend, infra/**, deny",
        {},
    ),
    (  # the deny covers only part of the allow
        "p, tenant:x, apply, */*, allow\np, tenant:x, apply, core/ResourceQuota, deny",
        {},
    ),
    (  # objects that start differently have nothing in common
        "p, tenant:x, depend, a/*, allow\np, tenant:x, depend, b/*, deny",
        {},
    ),
    (  # a literal inside the deny's pattern
        "p, tenant:x, depend, a/b, allow\np, tenant:x, depend, [ab]/?, deny",
        {1: (lint.SHADOWED, 2)},
    ),
    (  # the deny covers the object but not every action
        "p, tenant:x, api:*, tenants/*, allow\np, tenant:x, api:delete, tenants/*, deny",
        {},
    ),
    (
        "p, tenant:x, api:get, tenants/*, allow\np, tenant:x, api:*, tenants/**, deny",
        {1: (lint.SHADOWED, 2)},
    ),
    (  # a member's deny does not shadow the role's allow (other members still get it)
        "g, tenant:x, role:r\np, role:r, depend, a/b, allow\np, tenant:x, depend, a/*, deny",
        {},
    ),
    (
        "p, tenant:x, depend, team-b/db, allow\np, tenant:x, depend, team-b/db, allow",
        {2: (lint.DUPLICATE, 1)},
    ),
    (  # the narrower line is the duplicate, wherever it is
        "p, tenant:x, depend, team-b/db, deny\np, tenant:x, depend, team-b/*, deny",
        {1: (lint.DUPLICATE, 2)},
    ),
    (
        "p, tenant:x, api:get, tenants/a, allow\np, tenant:x, api:*, tenants/*, allow",
        {1: (lint.DUPLICATE, 2)},
    ),
    (  # same object, other effect: not a duplicate (and the deny wins, so the allow is shadowed)
        "p, tenant:x, depend, a/b, deny\np, tenant:x, depend, a/b, allow",
        {2: (lint.SHADOWED, 1)},
    ),
    (  # other subject: not a duplicate
        "p, tenant:x, depend, a/b, allow\np, tenant:y, depend, a/b, allow",
        {},
    ),
    (  # `*` and `**` are the same over cluster names (no '/'): the later is the duplicate
        "p, tenant:x, target, clusters/*, allow\np, tenant:x, target, clusters/**, allow",
        {2: (lint.DUPLICATE, 1)},
    ),
    (  # three equal lines: the later two are duplicates of the first
        "p, tenant:x, depend, a/*, allow\n" * 3,
        {2: (lint.DUPLICATE, 1), 3: (lint.DUPLICATE, 1)},
    ),
]


@pytest.mark.parametrize(("text", "expected"), SHADOWS_AND_DUPLICATES)
def test_shadowed_and_duplicate_lines(text: str, expected: dict[int, tuple[str, int]]) -> None:
    found = _findings(text)

    got = {f.rule.line: (f.kind, f.other.line if f.other else 0) for f in found}
    assert got == expected


def test_a_line_that_never_matches_is_not_also_a_duplicate_or_a_cover() -> None:
    found = _findings("p, tenant:x, depend, *, deny\np, tenant:x, depend, a/b, allow")

    assert [(f.rule.line, f.kind) for f in found] == [(1, lint.NEVER_MATCHES)]


def test_another_model_is_not_checked() -> None:
    model = MODEL.replace("objectMatch(r.obj, p.obj)", "keyMatch(r.obj, p.obj)")

    assert _findings("p, tenant:x, source, *, deny", model) == []


def test_the_shipped_policy_has_no_finding() -> None:
    assert lint.check_policy(Policy.from_directory(DEFAULTS)) == []


def test_a_bracket_class_that_is_no_class_is_refused_when_the_policy_loads() -> None:
    with pytest.raises(PolicyError, match=r"policy.csv:1: '\[z-a\]/x' is not a valid pattern"):
        Policy(Snapshot(MODEL, "p, tenant:a, depend, [z-a]/x, allow", "test"))


DOCS = pathlib.Path(__file__).parents[3] / "docs" / "policies.md"
SAMPLES = {
    "source": ["https://git.example.com/team-b/app.git", "ssh://git@h:22/a/b.git", "team-b/x"],
    "depend": ["team-b/shared-db", "infra/cert-manager"],
    "apply": ["apps/Deployment", "core/ConfigMap", "rbac.authorization.k8s.io/RoleBinding"],
    "target": ["clusters/staging", "clusters/production"],
    "api:create": ["tenants/team-a"],
    "api:get": ["tenants/team-a"],
    "api:list": ["tenants"],
    "api:update": ["tenants/team-a"],
    "api:delete": ["tenants/team-a"],
    "api:reconcile": ["tenants/team-a"],
}


def _docs_blocks() -> list[str]:
    text = DOCS.read_text()
    section = text.split("## Deny-all rules that work", 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in section.split("```csv\n")[1:]]


def test_the_deny_all_rules_in_the_docs_deny_everything_and_raise_no_warning() -> None:
    broken, working = _docs_blocks()[:2]
    opened = "p, tenant:sandbox, *, **, allow\np, group:contractors, *, **, allow\n"
    policy = Policy(Snapshot(MODEL, (DEFAULTS / "policy.csv").read_text() + opened + working, ""))

    assert lint.check_policy(policy) == []
    for action, objects in SAMPLES.items():
        who = ["group:contractors"] if action.startswith("api:") else ["tenant:sandbox"]
        assert all(shapes.fits(obj, action) for obj in objects)
        for obj in objects:
            assert not policy.decide(who, action, obj).allowed, (action, obj)
    (finding,) = _findings(broken.split("#", 1)[0])
    assert finding.kind == lint.NEVER_MATCHES
