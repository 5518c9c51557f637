"""The status page's pure parts: what a viewer sees, the graph's decisions, escaping, sessions."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from landlord.onboarding.statuspage import graph, html, view
from landlord.onboarding.statuspage.cache import Snapshot, key_of
from landlord.onboarding.statuspage.sessions import Sessions

V = "landlord.dev/v1alpha1"


def _ready(status: str, reason: str = "", message: str = "") -> dict[str, Any]:
    return {
        "conditions": [{"type": "Ready", "status": status, "reason": reason, "message": message}]
    }


def tenant(name: str, namespaces: list[str], status: str = "True", message: str = "") -> Any:
    return {
        "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {"namespaces": namespaces},
        "status": {"namespaces": namespaces, **_ready(status, "Provisioned", message)},
    }


def namespace(name: str, owner: str) -> Any:
    return {
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"landlord.dev/tenant": owner}},
    }


def ks(ns: str, name: str, depends: list[dict[str, str]] | None = None, **status: str) -> Any:
    return {
        "kind": "Kustomization",
        "metadata": {"namespace": ns, "name": name},
        "spec": {
            "sourceRef": {"kind": "GitRepository", "name": "app"},
            "path": "./deploy",
            "dependsOn": depends or [],
        },
        "status": _ready(
            status.get("ready", "True"), status.get("reason", ""), status.get("message", "")
        ),
    }


def snapshot(*bodies: Any) -> Snapshot:
    objects: dict[str, dict[str, Any]] = {}
    for body in bodies:
        objects.setdefault(body["kind"], {})[key_of(body)] = body
    return Snapshot(version=1, objects=objects, synced=True)


WORLD = snapshot(
    tenant("team-a", ["team-a"]),
    tenant("team-b", ["team-b", "team-b-db"], "False", "quota refused"),
    namespace("team-a", "team-a"),
    namespace("team-b", "team-b"),
    namespace("team-b-db", "team-b"),
    ks("team-a", "web", [{"name": "db", "namespace": "team-b-db"}, {"name": "config"}]),
    ks("team-a", "config"),
    ks("team-b-db", "db"),
    ks(
        "team-b",
        "api",
        [{"name": "db", "namespace": "team-b-db"}],
        ready="False",
        reason="PolicyDenied",
        message="sourceRef platform/x is denied",
    ),
)


def decide(own: str, own_labels: dict[str, str], target: str, labels: dict[str, str]) -> Any:
    if own_labels.get("landlord.dev/tenant") == labels.get("landlord.dev/tenant"):
        return view.EdgeDecision(True, "same tenant: no policy needed")
    return view.EdgeDecision(False, "denied by policy.csv:14 (p, tenant:team-a, depend, x, deny)")


ADMIN = view.Viewer("admin", everything=True)
OWNER_A = view.Viewer("alice", everything=False, tenants=frozenset({"team-a"}))


def test_an_owner_sees_only_the_tenants_they_own() -> None:
    assert [row.name for row in view.tenants(WORLD, ADMIN)] == ["team-a", "team-b"]
    assert [row.name for row in view.tenants(WORLD, OWNER_A)] == ["team-a"]
    assert view.tenant(WORLD, OWNER_A, "team-b") is None
    page = view.tenant(WORLD, OWNER_A, "team-a")
    assert page is not None
    assert [item.key for item in page.syncs] == ["team-a/config", "team-a/web"]


def test_cross_tenant_edges_are_judged_and_same_tenant_ones_need_no_policy() -> None:
    drawn = view.graph(WORLD, ADMIN, decide)
    edges = {(e.source, e.target): e for e in drawn.edges}
    denied = edges[("team-a/web", "team-b-db/db")]
    assert denied.cross_tenant
    assert not denied.decision.allowed
    assert "policy.csv:14" in denied.decision.why
    inside = edges[("team-b/api", "team-b-db/db")]  # two namespaces of one tenant
    assert not inside.cross_tenant
    assert inside.decision.allowed
    assert edges[("team-a/web", "team-a/config")].decision.why.startswith("same namespace")


def test_an_owner_sees_another_tenants_node_by_name_only() -> None:
    drawn = view.graph(WORLD, OWNER_A, decide)
    nodes = {node.key: node for node in drawn.nodes}
    assert set(nodes) == {"team-a/web", "team-a/config", "team-b-db/db"}
    assert nodes["team-b-db/db"].ready is None  # its state is team-b's
    assert nodes["team-b-db/db"].tenant == ""  # and so is who owns it
    assert nodes["team-a/web"].ready is not None
    assert all(edge.source.startswith("team-a/") for edge in drawn.edges)


def test_denials_list_policy_refusals_and_denied_edges_the_viewer_may_see() -> None:
    found = view.denials(WORLD, ADMIN, view.graph(WORLD, ADMIN, decide))
    assert {(d.kind, d.key) for d in found} == {
        ("Kustomization", "team-b/api"),
        ("dependsOn", "team-a/web → team-b-db/db"),
    }
    mine = view.denials(WORLD, OWNER_A, view.graph(WORLD, OWNER_A, decide))
    assert [(d.kind, d.tenant) for d in mine] == [("dependsOn", "team-a")]


def test_the_svg_draws_a_denied_edge_red_with_its_reason() -> None:
    picture = graph.svg(view.graph(WORLD, ADMIN, decide))
    denied = re.search(r'<g class="edge edge-denied"[^>]*>(.*?)</g>', picture)
    assert denied is not None
    assert "policy.csv:14" in denied.group(1)
    assert ">denied</text>" in denied.group(1)
    assert 'data-source="team-a/web"' in picture
    # Dependents sit right of what they depend on.
    placed = graph.place(view.graph(WORLD, ADMIN, decide))
    assert placed["team-a/web"].x > placed["team-a/config"].x
    assert placed["team-a/web"].x > placed["team-b-db/db"].x


def test_a_dependency_cycle_is_drawn_without_looping_forever() -> None:
    cyclic = snapshot(
        ks("n", "a", [{"name": "b"}]), ks("n", "b", [{"name": "a"}]), ks("n", "c", [{"name": "c"}])
    )
    drawn = view.graph(cyclic, ADMIN, decide)
    assert set(graph.layers(drawn)) == {"n/a", "n/b", "n/c"}
    assert graph.svg(drawn).startswith("<svg")


def test_everything_a_tenant_writes_is_escaped() -> None:
    hostile = snapshot(
        tenant("evil", ["evil"], "False", '<script>alert(1)</script>"><img src=x onerror=1>'),
        ks(
            "evil",
            "x",
            [{"name": '"><script>', "namespace": "evil"}],
            ready="False",
            message="<b onmouseover=1>",
        ),
    )
    pages = [
        html.overview(hostile, ADMIN),
        html.tenant(hostile, ADMIN, "evil") or "",
        html.dependency_graph(hostile, ADMIN, decide),
        html.denials(hostile, ADMIN, decide),
    ]
    for text in pages:
        assert "<script" not in text
        assert "<img" not in text
        assert "<b " not in text
    assert "&lt;script&gt;" in pages[0]


def test_views_answer_only_their_own_paths() -> None:
    assert html.main_of("/ui/tenants/team-b", WORLD, OWNER_A, decide) is None
    assert html.main_of("/ui/nope", WORLD, ADMIN, decide) is None
    found = html.main_of("/ui/tenants/team-a", WORLD, OWNER_A, decide)
    assert found is not None
    assert found[0] == "Tenant team-a"


def test_sessions_expire_idle_and_old_and_are_bounded() -> None:
    now = [0.0]
    sessions = Sessions(lifetime=50, idle=10, limit=2, clock=lambda: now[0])
    first = sessions.open("t1", "u1")
    assert sessions.token(first) == "t1"
    now[0] = 11
    assert sessions.token(first) is None  # idle too long
    second = sessions.open("t2", "u2")
    for _ in range(5):  # used every 9 s: never idle
        now[0] += 9
        assert sessions.token(second) == "t2"
    now[0] += 9  # 54 s after it was opened: past its lifetime
    assert sessions.token(second) is None
    a, b, c = sessions.open("a", "ua"), sessions.open("b", "ub"), sessions.open("c", "uc")
    assert len(sessions) == 2
    assert sessions.token(a) is None
    assert sessions.token(c) == "c"
    assert sessions.token(b) == "b"
    assert sessions.token(None) is None
    assert sessions.token("made-up") is None


def test_the_overview_names_a_ready_tenants_failing_syncs() -> None:
    rows = {row.name: row for row in view.tenants(WORLD, ADMIN)}
    assert [item.key for item in rows["team-b"].failing] == ["team-b/api"]
    assert rows["team-a"].failing == ()
    page = html.overview(WORLD, ADMIN)
    assert "Kustomization/team-b/api" in page
    assert "PolicyDenied" in page
    assert "1 sources and syncs failing" in page


def test_a_target_outside_the_viewers_tenants_looks_the_same_whether_it_exists_or_not() -> None:
    probing = snapshot(
        tenant("team-a", ["team-a"]),
        namespace("team-a", "team-a"),
        namespace("team-b", "team-b"),
        ks(
            "team-a",
            "web",
            [{"name": "real", "namespace": "team-b"}, {"name": "made-up", "namespace": "team-b"}],
        ),
        ks("team-b", "real"),
    )
    drawn = view.graph(probing, OWNER_A, decide)
    nodes = {node.key: node for node in drawn.nodes}
    assert nodes["team-b/real"] == dataclasses.replace(nodes["team-b/made-up"], key="team-b/real")
    picture = graph.svg(drawn)
    assert picture.count("outside your tenants") == 6  # title, accessible name, label: twice
    assert "does not exist" not in picture
    assert "tenant team-b" not in picture


def test_a_source_url_is_shown_without_its_credentials() -> None:
    world = snapshot(
        tenant("team-a", ["team-a"]),
        namespace("team-a", "team-a"),
        {
            "kind": "GitRepository",
            "metadata": {"namespace": "team-a", "name": "app"},
            "spec": {"url": "https://deploy:glpat-SECRET@git.example.com/a.git"},
            "status": {},
        },
    )
    page = html.tenant(world, ADMIN, "team-a") or ""
    assert "glpat-SECRET" not in page
    assert "https://***@git.example.com/a.git" in page


def test_only_namespaces_labelled_as_the_tenants_show_its_objects() -> None:
    # team-a's spec asks for team-b's namespace (refused by the operator): not shown as team-a's.
    world = snapshot(
        {
            "kind": "Tenant",
            "metadata": {"name": "team-a"},
            "spec": {"namespaces": ["team-a", "team-b"]},
            "status": {"namespaces": [], **_ready("False", "NamespaceConflict")},
        },
        namespace("team-a", "team-a"),
        namespace("team-b", "team-b"),
        ks("team-a", "mine"),
        ks("team-b", "theirs", ready="False", message="team-b private words"),
    )
    page = view.tenant(world, OWNER_A, "team-a")
    assert page is not None
    assert [item.key for item in page.syncs] == ["team-a/mine"]
    assert "team-b private words" not in html.overview(world, OWNER_A)


def test_one_user_signing_in_again_and_again_cannot_push_others_out() -> None:
    sessions = Sessions(limit=10, per_owner=2)
    admin = sessions.open("admin-token", "admin")
    for _ in range(50):
        sessions.open("tenant-token", "mallory")
    assert sessions.token(admin) == "admin-token"
    assert len(sessions) == 3


def test_the_overview_says_so_while_the_watches_have_not_all_listed() -> None:
    assert "Still reading the cluster" not in html.overview(WORLD, ADMIN)
    early = Snapshot(version=1, objects=WORLD.objects, synced=False)
    assert "Still reading the cluster" in html.overview(early, ADMIN)
