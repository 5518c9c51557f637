"""Attacks on the operator's record of policy requests (what `landlord policy diff --live` reads).

A tenant controls its revisions (kinds), its specs (dependsOn, source URLs) and
nothing in the platform namespace; the record must stay bounded per tenant,
never carry credentials, and a damaged record must not stop the operator.
"""

from __future__ import annotations

import base64
import gzip
import json
import pathlib
import time
import typing

import pytest
import yaml

from landlord import api, errors, kube
from landlord.api import labels
from landlord.demo import GitServer
from landlord.gitops import budgets as budgets_mod
from landlord.policy import requests, whatif
from landlord.policy.engine import DEFAULTS, Policy, Snapshot
from landlord.policy.gate import Gate
from landlord.policy.requests import Recorder, Requester
from landlord.runtime.namespaces import NamespaceLabels
from landlord.runtime.outcome import Outcome
from landlord.settings import PLATFORM_NAMESPACE
from landlord.sync.steps import dependencies
from landlord.sync.steps.gatekeeper import Gatekeeper
from landlord.wiring import policy_requests
from tests.fixtures.operator import BASELINE_POLICY, OperatorProcess, Tenants
from tests.fixtures.policy import PolicyFiles
from tests.helpers import eventually, landlord
from tests.policy.test_gate import _reason, _tenant_with_repo
from tests.policy.test_whatif_predicts import _folder, _records
from tests.sync.test_apply_and_prune import config_map

NAME = "landlord-policy-requests"


def _others(recorder: Recorder) -> None:
    gate = Gate(recorder=recorder)
    for n in range(50):
        key = f"team-{n}/web"

        def reconcile(key: str, n: int = n) -> str:
            gate.check("apply", [f"tenant:team-{n}"], "core/ConfigMap")
            gate.check("depend", [f"tenant:team-{n}"], f"team-{n + 1}/db")
            return "ok"

        requests.attributed("Kustomization", reconcile, recorder)(key)


def test_a_revision_with_thousands_of_kinds_cannot_push_other_tenants_out() -> None:
    recorder = Recorder(limit=3_000)
    _others(recorder)
    gate = Gate(recorder=recorder)

    def hostile(key: str) -> str:
        for n in range(20_000):
            gate.check("apply", ["tenant:evil"], f"evil{n}.example.com/Kind{n}")
        return "ok"

    requests.attributed("Kustomization", hostile, recorder)("evil/web")
    hostile_requester = Requester("Kustomization", "evil", "web")
    kept = [s for s in recorder.seen() if s.request.requester == hostile_requester]
    assert len(kept) == recorder.per_requester
    assert len(recorder) == 100 + recorder.per_requester  # every other tenant's is there
    assert recorder.dropped == 0
    assert recorder.overflowing == {hostile_requester}
    published = requests.read(
        requests.dump(recorder.seen(), overflowing=recorder.overflowing, dropped=recorder.dropped)
    )
    assert published.overflowing == [hostile_requester]  # the reader is told


def test_many_depends_on_cannot_push_other_tenants_out() -> None:
    recorder = Recorder(limit=2_000)
    _others(recorder)
    gate = Gate(recorder=recorder)

    def hostile(key: str) -> str:
        for n in range(5_000):
            gate.check("depend", ["tenant:evil"], f"victim/ks-{n}")
        return "ok"

    requests.attributed("Kustomization", hostile, recorder)("evil/web")
    assert len(recorder) == 100 + recorder.per_requester
    assert recorder.dropped == 0


def _documents(admin: kube.Kube) -> list[bytes]:
    return [
        base64.b64decode(item["binaryData"][labels.POLICY_REQUESTS_KEY])
        for item in admin.list_objects(
            "v1",
            "ConfigMap",
            namespace=PLATFORM_NAMESPACE,
            label_selector=f"{labels.POLICY_REQUESTS}=true",
        )
    ]


def test_credentials_in_a_source_url_never_reach_the_published_record(
    admin: kube.Kube, git_server: GitServer, tenants: Tenants, operator: OperatorProcess
) -> None:
    name = tenants.name("creds")
    git_server.create(name)
    git_server.commit(name, {"deploy/a.yaml": yaml.safe_dump(config_map("a"))}, message="init")
    secret = "hunter2-" + name
    url = git_server.url(name).replace("http://", f"http://someone:{secret}@")
    tenants.create(
        name,
        {"source": {"url": url, "interval": "1m"}, "sync": {"path": "./deploy", "interval": "1m"}},
    )

    def recorded() -> list[str] | None:
        texts = [gzip.decompress(d).decode() for d in _documents(admin)]
        return texts if any(f"/{name}.git" in text for text in texts) else None

    texts = eventually(recorded, timeout=60, what="the tenant's source in the record")
    for text in texts:
        assert secret not in text
        assert "someone:" not in text


def test_a_damaged_or_forged_record_does_not_stop_the_operator(
    admin: kube.Kube, operator: OperatorProcess
) -> None:
    def write(name: str, data: bytes) -> None:
        admin.delete("v1", "ConfigMap", name, PLATFORM_NAMESPACE)
        admin.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": name,
                    "namespace": PLATFORM_NAMESPACE,
                    "labels": {labels.POLICY_REQUESTS: "true"},
                },
                "binaryData": {labels.POLICY_REQUESTS_KEY: base64.b64encode(data).decode()},
            }
        )

    forged = requests.dump(
        [
            requests.Seen(
                requests.Request(
                    ("tenant:ghost",),
                    "depend",
                    "victim/db",
                    "depend",
                    Requester("Kustomization", "ghost", "never-existed"),
                ),
                time.time(),
                "allow",
                "policy.csv:1",
            )
        ]
    )
    operator.stop()  # it would publish over them on its way out
    write(NAME, b"\x1f\x8b not really gzip")
    write(f"{NAME}.7", forged)
    write(
        f"{NAME}.8", gzip.compress(json.dumps({"format": requests.FORMAT, "dropped": "x"}).encode())
    )

    operator.start()
    eventually(
        lambda: "is not a record" in operator.log(),
        timeout=30,
        what="the damaged record reported",
    )
    log = operator.log()
    assert "Traceback" not in log

    # The operator publishes a record of its own; the damaged parts go, the forged one's
    # request of an object that does not exist was not taken in.
    def rewritten() -> list[list[requests.Seen]] | None:
        names = {
            item["metadata"]["name"]
            for item in admin.list_objects(
                "v1",
                "ConfigMap",
                namespace=PLATFORM_NAMESPACE,
                label_selector=f"{labels.POLICY_REQUESTS}=true",
            )
        }
        if f"{NAME}.7" in names or f"{NAME}.8" in names:
            return None
        try:
            return [[s for d in _documents(admin) for s in requests.read(d).seen]]
        except requests.FormatError:
            return None

    [seen] = eventually(rewritten, timeout=45, what="a readable record of the operator's own")
    assert not any(s.request.object == "victim/db" for s in seen)
    assert operator.process is not None
    assert operator.process.poll() is None


# -- a reconcile that stops at a denied edge must not wipe the edges after it ----------


def _edges_gatekeeper(policy_csv: str) -> tuple[Gatekeeper, Gate]:
    """A Kustomization's policy gate for team-a, b, c (one tenant each), labels from the cache."""
    model = (DEFAULTS / "model.conf").read_text()
    gate = Gate(Policy(Snapshot(model, policy_csv, "policy.csv")), recorder=Recorder())
    namespaces = NamespaceLabels()
    for team in ("team-a", "team-b", "team-c"):
        namespaces.update(team, {labels.TENANT: team})
    keeper = Gatekeeper(
        typing.cast(kube.Kube, None),  # every namespace is in the watch cache
        gate=gate,
        platform_namespace=PLATFORM_NAMESPACE,
        namespaces=namespaces,
        budgets=typing.cast(budgets_mod.Budgets, None),
    )
    return keeper, gate


def _policy(*lines: str) -> str:
    return "\n".join(["g, tenant:*, role:tenant", *lines]) + "\n"


def _admit(keeper: Gatekeeper, gate: Gate, spec: dict[str, object]) -> None:
    body = {"metadata": {"namespace": "team-a", "name": "web"}, "spec": spec}
    assert gate.recorder is not None
    requests.attributed("Kustomization", lambda key: keeper.admit(key, body), gate.recorder)(
        "team-a/web"
    )


def _recorded(gate: Gate) -> set[str]:
    assert gate.recorder is not None
    return {f"{s.request.action} {s.request.object}" for s in gate.recorder.seen()}


SPEC: dict[str, object] = {
    "sourceRef": {"kind": "GitRepository", "name": "shared", "namespace": "team-c"},
    "path": "./deploy",
    "interval": "1m",
    "dependsOn": [{"name": "db", "namespace": "team-b"}, {"name": "cache", "namespace": "team-c"}],
}


@pytest.mark.parametrize(
    ("denied", "kept"),
    [
        # The first dependsOn is denied now: the edge after it is still the spec's.
        ("p, role:tenant, depend, team-b/db, deny", "depend team-c/cache"),
        # The sourceRef is denied now: every dependsOn is still the spec's.
        ("p, role:tenant, source, team-c/shared, deny", "depend team-b/db"),
    ],
)
def test_a_denied_edge_does_not_drop_the_edges_after_it_from_the_record(
    denied: str, kept: str
) -> None:
    """Else a later change that re-allows the denied edge and denies a dropped one reads 1.

    ("only newly allowed") while the Kustomization would stop at the dropped edge.
    """
    opened = _policy("p, role:tenant, depend, */*, allow", "p, role:tenant, source, */*, allow")
    keeper, gate = _edges_gatekeeper(opened)
    _admit(keeper, gate, SPEC)
    assert _recorded(gate) == {
        "source team-c/shared",
        "depend team-b/db",
        "depend team-c/cache",
    }

    gate.replace(Policy(Snapshot(gate_model(), opened + denied + "\n", "policy.csv")))
    _admit(keeper, gate, SPEC)  # refused: PolicyDenied at the denied edge
    assert kept in _recorded(gate)

    # The platform team re-allows the denied edge and denies the one the record lost.
    before = gate.policy
    assert before is not None
    other = (
        "p, role:tenant, depend, team-c/cache, deny"
        if "team-b/db" in denied
        else ("p, role:tenant, depend, team-b/db, deny")
    )
    after = Policy(Snapshot(gate_model(), opened + other + "\n", "policy.csv"))
    assert gate.recorder is not None
    report = whatif.compare(before, after, gate.recorder.seen())
    assert [c.request.object for c in report.newly_denied] == [kept.split()[1]]
    assert report.exit_code == whatif.DENIED


def gate_model() -> str:
    return (DEFAULTS / "model.conf").read_text()


# -- shards: one shard's parts must never be another shard's record -------------------


class _ConfigMaps:
    """The platform namespace's ConfigMaps, as the publisher uses them (apply, list, delete)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, typing.Any]] = {}

    def apply(self, manifest: dict[str, typing.Any], **_: object) -> dict[str, typing.Any]:
        self.items[manifest["metadata"]["name"]] = manifest
        return manifest

    def list_objects(self, *_: object, **__: object) -> list[dict[str, typing.Any]]:
        return list(self.items.values())

    def delete(self, _version: str, _kind: str, name: str, _namespace: str) -> None:
        self.items.pop(name, None)


def _recorder_of(tenant: str, count: int) -> Recorder:
    recorder = Recorder()
    gate = Gate(recorder=recorder)

    def reconcile(key: str) -> str:
        for n in range(count):
            gate.check("apply", [f"tenant:{tenant}"], f"{tenant}{n}.example.com/Kind{n}")
        return "ok"

    requests.attributed("Kustomization", reconcile, recorder)(f"{tenant}/web")
    return recorder


@pytest.mark.parametrize(("big", "small"), [("", "1"), ("eu", "eu-1")])
def test_a_shard_split_into_parts_does_not_overwrite_another_shards_record(
    big: str, small: str
) -> None:
    """Shard names are DNS labels: ``1`` and ``eu-1`` are valid, so ``<name>-<n>`` parts collide."""
    maps = _ConfigMaps()
    client = typing.cast(kube.Kube, maps)
    other = policy_requests.Publisher(
        client, _recorder_of("small", 3), namespace=PLATFORM_NAMESPACE, shard=small
    )
    assert other.publish(force=True)
    splitting = policy_requests.Publisher(
        client,
        _recorder_of("big", 400),
        namespace=PLATFORM_NAMESPACE,
        shard=big,
        part_bytes=2_000,  # a record over the part size: parts
    )
    assert splitting.publish(force=True)
    tenants = {
        s.request.requester.namespace
        for item in maps.items.values()
        for s in requests.read(
            base64.b64decode(item["binaryData"][labels.POLICY_REQUESTS_KEY])
        ).seen
        if s.request.requester is not None
    }
    assert tenants == {"small", "big"}  # what `policy diff --live` reads: both shards' records


# -- who may read the record ------------------------------------------------------------


def test_neither_a_tenants_reconciler_nor_its_owners_may_read_the_record(
    admin: kube.Kube, tenants: Tenants, operator: OperatorProcess
) -> None:
    """The record names every tenant's sources, edges, kinds and owners."""
    name = tenants.name("nosy")
    user, group = f"{name}-owner", f"{name}-owners"
    tenants.create(
        name, {"owners": [{"kind": "User", "name": user}, {"kind": "Group", "name": group}]}
    )
    tenants.ready(name)

    def published() -> list[str] | None:
        found = [
            item["metadata"]["name"]
            for item in admin.list_objects(
                "v1",
                "ConfigMap",
                namespace=PLATFORM_NAMESPACE,
                label_selector=f"{labels.POLICY_REQUESTS}=true",
            )
        ]
        texts = [gzip.decompress(d).decode() for d in _documents(admin)]
        return found if any(f"tenants/{name}" in text for text in texts) else None

    names = eventually(published, timeout=60, what="the owners' requests in the record")
    for actor in (
        admin.as_service_account(name, "landlord-reconciler"),
        admin.impersonate(user, [group]),
        admin.impersonate("someone-else", [group]),
    ):
        with pytest.raises(errors.ApiError) as listed:
            actor.list_objects(
                "v1",
                "ConfigMap",
                namespace=PLATFORM_NAMESPACE,
                label_selector=f"{labels.POLICY_REQUESTS}=true",
            )
        assert listed.value.forbidden, listed.value.message
        for each in names:
            with pytest.raises(errors.ApiError) as got:
                actor.get("v1", "ConfigMap", each, PLATFORM_NAMESPACE)
            assert got.value.forbidden, got.value.message


def _stopping_at_the_first_refusal(
    gate: Gate, ready_if: typing.Callable[[str], bool]
) -> typing.Callable[[str], Outcome]:
    """An Alert's eventSources, a HelmRelease's dependsOn: in order, the first refusal ends it."""

    def reconcile(key: str) -> Outcome:
        for target in ("team-b/db", "team-c/cache"):
            if not gate.check("depend", ["tenant:team-a"], target).allowed:
                return Outcome(False, "PolicyDenied", f"{target} is denied")
            if not ready_if(target):
                return Outcome(False, "DependencyNotReady", f"{target} is not Ready")
        return Outcome(True, "Succeeded", "ok")

    return reconcile


@pytest.mark.parametrize(
    ("denied", "not_ready"),
    [
        ("p, role:tenant, depend, team-b/db, deny", ""),  # an Alert's first eventSource denied
        ("", "team-b/db"),  # a HelmRelease's first dependency not Ready yet
    ],
)
def test_a_reconcile_that_stops_early_keeps_the_requests_it_did_not_reach(
    denied: str, not_ready: str
) -> None:
    opened = _policy("p, role:tenant, depend, */*, allow")
    gate = Gate(Policy(Snapshot(gate_model(), opened, "policy.csv")), recorder=Recorder())
    assert gate.recorder is not None
    run = requests.attributed(
        "Alert", _stopping_at_the_first_refusal(gate, lambda _: True), gate.recorder
    )
    assert run("team-a/alerts").ready
    gate.replace(Policy(Snapshot(gate_model(), opened + denied + "\n", "policy.csv")))
    stopping = requests.attributed(
        "Alert",
        _stopping_at_the_first_refusal(gate, lambda target: target != not_ready),
        gate.recorder,
    )
    assert not stopping("team-a/alerts").ready
    assert _recorded(gate) == {"depend team-b/db", "depend team-c/cache"}


# -- the size of what a tenant makes the operator ask --------------------------------


def test_a_tenants_server_cannot_fill_the_record_with_huge_urls() -> None:
    """A Helm or registry server the tenant runs chooses where it redirects (a header of up
    to 64 KiB): every hop is decided, and would be recorded, as it is, for each of the
    tenant's objects up to the count bounds (10,000 a namespace: 640 MB)."""
    recorder = Recorder()
    _others(recorder)
    gate = Gate(recorder=recorder)

    def redirected(key: str) -> str:
        for hop in range(5):
            gate.check("source", ["tenant:evil"], f"https://evil.example/{hop}/{'x' * 60_000}")
        gate.check("source", ["tenant:evil"], "https://evil.example/charts")
        return "ok"

    for n in range(20):
        requests.attributed("HelmRepository", redirected, recorder)(f"evil/repo-{n}")
    longest = max(len(s.request.object) for s in recorder.seen())
    assert longest <= requests.MAX_OBJECT
    published = requests.dump(recorder.seen(), overflowing=recorder.overflowing)
    assert len(published) < 64 * 1024
    # what was not kept is said, and the sane requests of the same objects are there
    assert Requester("HelmRepository", "evil", "repo-0") in recorder.overflowing
    assert {
        s.request.object
        for s in recorder.seen()
        if s.request.requester and s.request.requester.namespace == "evil"
    } == {"https://evil.example/charts"}


def test_a_kustomization_stopped_at_one_edge_is_still_predicted_to_stop_at_another(
    admin: kube.Kube,
    control_plane: pathlib.Path,
    git_server: GitServer,
    tenants: Tenants,
    policy_files: PolicyFiles,
    operator: OperatorProcess,
    tmp_path: pathlib.Path,
) -> None:
    """Its first dependsOn is denied today; the change re-allows it and denies the second.

    Before the fix the record had lost the second edge (the refused reconcile replaced
    its ``depend`` requests with the one it reached) and the diff said 1, "only newly
    allowed"; the Kustomization then stopped at the second edge.
    """
    first, second, web = (tenants.name(p) for p in ("first", "second", "web"))
    today = BASELINE_POLICY + f"p, tenant:{web}, depend, {second}/*, allow\n"
    policy_files.write(today)
    for name in (first, second):
        _tenant_with_repo(tenants, git_server, "", {"deploy/db.yaml": config_map("db")}, name=name)
    _tenant_with_repo(
        tenants,
        git_server,
        "",
        {"deploy/app.yaml": config_map("app")},
        name=web,
        dependsOn=[{"name": first, "namespace": first}, {"name": second, "namespace": second}],
    )
    _reason(admin, web, web, "PolicyDenied")
    eventually(
        lambda: (
            _records(admin, web, "depend", f"{first}/{first}")
            and _records(admin, web, "depend", f"{second}/{second}")
        ),
        timeout=45,
        what="both dependsOn edges of the refused Kustomization in the published record",
    )

    change = BASELINE_POLICY + f"p, tenant:{web}, depend, {first}/*, allow\n"
    run = landlord(
        control_plane,
        "policy", "diff", "--live", "--namespace", PLATFORM_NAMESPACE, "-o", "json",
        "--from", str(_folder(tmp_path, "today", today, operator)),
        "--to", str(_folder(tmp_path, "change", change, operator)),
    )  # fmt: skip
    assert run.returncode == whatif.DENIED, run.stderr
    report = json.loads(run.stdout)
    assert [
        (c["requester"]["name"], c["object"])
        for c in report["newlyDenied"]
        if c["requester"] and c["requester"]["namespace"] == web
    ] == [(web, f"{second}/{second}")]

    policy_files.write(change)  # it lands: the Kustomization stops at the second edge
    eventually(
        lambda: f"dependsOn {second}/{second} is denied" in _message(admin, web),
        timeout=45,
        what="the Kustomization refused at its second dependsOn",
    )


def _message(admin: kube.Kube, name: str) -> str:
    body = admin.get(api.API_VERSION, "Kustomization", name, name) or {}
    ready = [c for c in (body.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"]
    return str(ready[0].get("message", "")) if ready else ""


@pytest.mark.parametrize(
    "url",
    [
        "https://someone:hunter2@git.example.com/a.git",
        "https://someone:p@ss@word@git.example.com/a.git",  # '@' in the password, unescaped
        "ssh://git:to@ken@git.example.com/a.git",
    ],
)
def test_no_part_of_a_password_reaches_the_record(url: str) -> None:
    """Belt and braces (sources refuse userinfo first): split as Git and curl split it."""
    request = requests.Request(("tenant:a",), "source", url)
    assert request.object.endswith("git.example.com/a.git")
    assert "@" not in request.object
    assert "word" not in request.object
    assert "ken" not in request.object


# -- attribution: another tenant's request is never credited to the object that asked it ---


class _Kustomizations:
    def __init__(self, *bodies: dict[str, typing.Any]) -> None:
        self.bodies = {(b["metadata"]["namespace"], b["metadata"]["name"]): b for b in bodies}

    def get(
        self, _version: str, _kind: str, name: str, namespace: str | None = None
    ) -> dict[str, typing.Any] | None:
        return self.bodies.get((namespace or "", name))


def _kustomization(namespace: str, name: str, *on: tuple[str, str]) -> dict[str, typing.Any]:
    return {
        "metadata": {"namespace": namespace, "name": name},
        "spec": {"dependsOn": [{"namespace": ns, "name": n} for ns, n in on]},
    }


def test_the_dependency_cycle_walk_does_not_credit_other_tenants_edges_to_the_walker() -> None:
    """team-a/web's cycle check walks team-b/db's dependsOn, deciding *team-b's* edge.

    Recorded under team-a/web, a change denying team-b → team-c would read "Kustomization
    team-a/web would stop" (team-b/db's own reconcile records its edge, correctly).
    """
    gate = Gate(
        Policy(Snapshot(gate_model(), _policy("p, role:tenant, depend, */*, allow"), "p.csv")),
        recorder=Recorder(),
    )
    assert gate.recorder is not None
    web = _kustomization("team-a", "web", ("team-b", "db"))
    client = _Kustomizations(web, _kustomization("team-b", "db", ("team-c", "cache")))

    def decide(own: str, point: str, obj: str) -> object | None:
        return None if gate.check(point, [f"tenant:{own}"], obj).allowed else obj

    def reconcile(key: str) -> str:
        assert dependencies.cycle(typing.cast(kube.Kube, client), web, decide) is None
        return "ok"

    requests.attributed("Kustomization", reconcile, gate.recorder)("team-a/web")
    assert [
        s.request.describe()
        for s in gate.recorder.seen()
        if s.request.requester == Requester("Kustomization", "team-a", "web")
    ] == []
