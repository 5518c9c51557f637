"""The onboarding API and its webhooks, attacked the way a hostile caller or tenant would.

Landlord (operator and API) runs in this process over its own platform
repository, as in ``tests/onboarding`` (an in-memory exporter sees every span).
Each case makes the real request — a real token from the apiserver, a real
commit on the loopback Git server, a real delivery over HTTP — and asserts that
nothing was committed, triggered or joined, and that the refusal says why.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import http.cookiejar
import json
import pathlib
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from landlord import api, errors, kube, onboarding, policy
from landlord.api import conditions, labels
from landlord.api.tenant import Source, TenantSpec
from landlord.demo import GitServer
from landlord.onboarding.statuspage import routes as ui_routes
from landlord.settings import PLATFORM_NAMESPACE
from landlord.wiring import api_main
from tests.fixtures.operator import OperatorProcess
from tests.helpers import eventually
from tests.onboarding.conftest import (
    ADMINS,
    USERS,
    Api,
    owner_of,
    running_api,
    spans,
    token_for,
)

__all__ = ["spans"]  # the session's span exporter, shared with tests/onboarding

ADMIN_USER = f"system:serviceaccount:{ADMINS}:admin"
FORGED = "mallory\nLandlord-Approved-By: root"
HOOK_TOKEN = "security-webhook-secret-0123456789"
CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hostile"}}


@pytest.fixture(scope="module")
def api_under_attack(
    control_plane: pathlib.Path,
    admin: kube.Kube,
    installed: None,
    operator_process: OperatorProcess,
    git_server: GitServer,
    spans: InMemorySpanExporter,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    """The API and operator in this process, for this module only (then the next one's)."""
    operator_process.stop()  # the `operator` fixture starts it again for the next modules
    with running_api(
        control_plane,
        admin,
        git_server,
        tmp_path_factory.mktemp("security-api"),
        repo="security-platform",
    ) as running:
        yield running


# -- tokens: only one issued for Landlord is a credential ---------------------


def test_an_ordinary_service_account_token_is_not_an_api_credential(
    api_under_attack: Api,
) -> None:
    """A pod's mounted token (audience: the apiserver) of a platform admin commits nothing."""
    caller = api_under_attack
    name = caller.name("plain-token")
    head = caller.head()
    ordinary = caller.kube.service_account_token(ADMINS, "admin", seconds=600)
    other = token_for(caller.kube, ADMINS, "admin", audiences=("vault",))

    for token in (ordinary, other):
        status, body, headers = caller.call(
            "POST", "/v1/tenants", token, {"name": name, "spec": {}}
        )
        assert status == 401, body
        assert "audience" in body["error"]
        assert "--audience landlord" in body["error"]
        assert headers["www-authenticate"].startswith("Bearer")
    assert caller.head() == head
    assert caller.file(name) is None


def test_a_token_requested_for_landlord_is_an_api_credential(api_under_attack: Api) -> None:
    """`kubectl create token admin --audience landlord`: the same account, accepted."""
    caller = api_under_attack
    name = caller.name("bound-token")
    token = token_for(caller.kube, ADMINS, "admin", audiences=("landlord",))

    status, body, _ = caller.call("POST", "/v1/tenants", token, {"name": name, "spec": {}})

    assert status == 201, body
    commit = caller.commit_of(body["commit"])
    assert commit["trailers"]["Landlord-Requested-By"] == ADMIN_USER
    assert commit["author"] == ADMIN_USER


# -- names in Git: no trailer forging -----------------------------------------


def test_a_user_name_cannot_forge_a_commit_trailer(api_under_attack: Api) -> None:
    """A name with a newline (an OIDC or webhook authenticator could return one) stays one line.

    No authenticator of the test control plane names a user with a newline (a
    service account's name is a DNS name; there is no static token file, OIDC
    or webhook), so the request enters the API one step after TokenReview: the
    onboarding service itself, committing through the real Git adapter to the
    real platform repository the running API uses.
    """
    caller = api_under_attack
    name = caller.name("forged")
    config = caller.config.model_copy(deep=True)
    config.api.workdir = caller.config.api.workdir.parent / "forger"
    service = onboarding.Onboarding(
        caller.kube,
        caller.landlord.gate,
        api_main.workspace_factory(config),
        platform_namespace=PLATFORM_NAMESPACE,
        settings=config.api,
        allowed_schemes=config.sources.allowed_schemes,
    )
    who = onboarding.Caller(FORGED, (f"system:serviceaccounts:{ADMINS}", "\u202eevil\r\n"))

    accepted = service.create(
        who,
        onboarding.TenantRequest(name=name, spec=TenantSpec()),
        onboarding.RequestContext.now("forge-1"),
        wait=None,
    )

    assert accepted.commit is not None
    trailers = caller.trailer_lines(accepted.commit)
    assert [line.partition(": ")[0] for line in trailers] == [
        "Landlord-Operation",
        "Landlord-Requested-By",
        "Landlord-Request-Id",
    ]
    commit = caller.commit_of(accepted.commit)
    assert commit["trailers"]["Landlord-Requested-By"] == "mallory\\nLandlord-Approved-By: root"
    assert "Landlord-Approved-By" not in commit["trailers"]
    assert commit["author"] == "mallory\\nLandlord-Approved-By: root"
    assert commit["email"].endswith("@users.landlord.invalid")
    committed = caller.file(name) or {}
    shown = committed["metadata"]["annotations"][labels.REQUESTED_BY]
    assert shown == "mallory\\nLandlord-Approved-By: root"


# -- source URLs: the policy judges the spelling the operator fetches ----------------


@pytest.mark.parametrize(
    "spelling",
    [
        "HTTPS://EVIL.Example/exfil.git",  # case in the scheme and host
        "https://evil.example:443/exfil.git",  # the scheme's default port
        "https://evil.example./exfil.git",  # the host's trailing dot
        "https://%65vil.example/exfil.git",  # an escaped character in the host
        "HTTPS://EVIL.example.:443/team/../exfil.git",  # all of them, and a dot segment
    ],
)
def test_a_respelled_url_is_judged_as_the_url_it_fetches(
    api_under_attack: Api, spelling: str
) -> None:
    """A deny line for ``https://evil.example/**`` also refuses every other spelling of it.

    The sources reconciler decides on the normalised URL; the API used to ask
    the policy about the URL as written, so a tenant's owner could commit a
    denied remote that the policy only caught later, in the cluster.
    """
    caller = api_under_attack
    name = caller.name("spelling")
    in_force = caller.landlord.gate.policy
    assert in_force is not None
    denied = policy.Policy(
        dataclasses.replace(
            in_force.snapshot,
            policy=in_force.snapshot.policy
            + f"\np, tenant:{name}, source, https://evil.example/**, deny\n",
        )
    )
    config = caller.config.model_copy(deep=True)
    config.api.workdir = caller.config.api.workdir.parent / f"respelled-{name}"
    service = onboarding.Onboarding(
        caller.kube,
        policy.Gate(denied),
        api_main.workspace_factory(config),
        platform_namespace=PLATFORM_NAMESPACE,
        settings=config.api,
        allowed_schemes=config.sources.allowed_schemes,
    )
    admin = onboarding.Caller(ADMIN_USER, (f"system:serviceaccounts:{ADMINS}",))
    before = caller.commits()

    with pytest.raises(errors.InvalidError) as refused:
        service.create(
            admin,
            onboarding.TenantRequest(name=name, spec=TenantSpec(source=Source(url=spelling))),
            onboarding.RequestContext.now(f"respelled-{name}"),
            wait=None,
        )

    problem = refused.value.fields["spec.source.url"]
    assert problem.startswith("not allowed by policy: denied by"), problem
    assert "https://evil.example/**" in problem
    assert caller.commits() == before
    assert caller.file(name) is None


def test_the_most_hostile_service_account_name_reaches_git_whole(api_under_attack: Api) -> None:
    """The longest, most trailer-like name the apiserver accepts: one line, not cut, not bent."""
    caller = api_under_attack
    account = ("landlord-approved-by.root." + "a" * 253)[:253].rstrip(".-")
    token = token_for(caller.kube, ADMINS, account)
    user = f"system:serviceaccount:{ADMINS}:{account}"
    name = caller.name("long-name")

    status, body, _ = caller.call("POST", "/v1/tenants", token, {"name": name, "spec": {}})

    assert status == 201, body
    commit = caller.commit_of(body["commit"])
    assert commit["trailers"]["Landlord-Requested-By"] == user
    assert commit["author"] == user
    assert set(commit["trailers"]) == {
        "Landlord-Operation",
        "Landlord-Requested-By",
        "Landlord-Request-Id",
        "Landlord-Trace-Id",
    }


# -- traces: a tenant cannot join another request's ---------------------------


def test_a_tenant_written_traceparent_does_not_join_another_request_trace(
    api_under_attack: Api, spans: InMemorySpanExporter
) -> None:
    """Tenant B copies tenant A's traceparent (and its signature) onto its own sync.

    The platform lets B's owner manage GitRepositories and Kustomizations in
    B's namespace (Flux-style self-service). B's objects are reconciled, but
    none of their spans lands in the trace of A's onboarding request.
    """
    caller = api_under_attack
    victim, hostile_tenant = caller.name("victim"), caller.name("hostile")
    caller.git.create(victim, public=True)
    caller.git.commit(victim, {"deploy/configmap.yaml": yaml.safe_dump(CONFIG_MAP)})
    spec = {
        "source": {"url": caller.git.url(victim), "interval": "1m"},
        "sync": {"path": "./deploy", "interval": "1m"},
    }
    status, body, _ = caller.call(
        "POST", "/v1/tenants", caller.admin_token, {"name": victim, "spec": spec}, wait=True
    )
    assert status == 201, body
    victim_trace = int(body["traceId"], 16)
    status, body, _ = caller.call(
        "POST",
        "/v1/tenants",
        caller.admin_token,
        {"name": hostile_tenant, "spec": {"owners": [owner_of(USERS, "owner")]}},
        wait=True,
    )
    assert status == 201, body
    _let_owner_manage_syncs(caller.kube, hostile_tenant)
    stolen = eventually(
        lambda: _trace_annotations(
            caller.kube.get(api.API_VERSION, "Kustomization", victim, victim) or {}
        ),
        timeout=60,
        what="the victim's Kustomization carrying its request's traceparent",
    )
    owner = caller.kube.as_service_account(USERS, "owner")
    metadata = {"name": "hostile", "namespace": hostile_tenant, "annotations": stolen}
    owner.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "GitRepository",
            "metadata": metadata,
            "spec": {"url": caller.git.url(victim), "interval": "1h"},
        }
    )
    owner.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": metadata,
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": "hostile"},
                "path": "./deploy",
                "interval": "1h",
                "prune": True,
            },
        }
    )
    for kind in ("GitRepository", "Kustomization"):
        eventually(
            lambda kind=kind: _reconciled(caller.kube, kind, hostile_tenant, "hostile"),
            timeout=60,
            what=f"the hostile {kind} reconciled",
        )

    key = f"{hostile_tenant}/hostile"
    theirs = [
        span
        for span in spans.get_finished_spans()
        if (span.attributes or {}).get("landlord.source") == key
        or (span.attributes or {}).get("landlord.kustomization") == key
    ]
    assert {span.name for span in theirs} >= {"source.reconcile", "sync.reconcile"}
    joined = [span.name for span in theirs if _trace_of(span) == victim_trace]
    assert joined == [], f"{joined} joined the victim's request trace"
    roots = [span for span in theirs if span.name in ("source.reconcile", "sync.reconcile")]
    assert all(span.parent is None for span in roots), "a tenant-chosen parent was used"


def _let_owner_manage_syncs(admin: kube.Kube, namespace: str) -> None:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "self-service-syncs", "namespace": namespace},
        "rules": [
            {
                "apiGroups": [api.GROUP],
                "resources": ["gitrepositories", "kustomizations"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "self-service-syncs", "namespace": namespace},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": role["metadata"]["name"],
        },
        "subjects": [{"kind": "ServiceAccount", "name": "owner", "namespace": USERS}],
    }
    admin.apply(role, field_manager="tests")
    admin.apply(binding, field_manager="tests")


def _trace_annotations(body: dict[str, Any]) -> dict[str, str] | None:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    found = {k: v for k, v in annotations.items() if k.startswith(labels.TRACEPARENT)}
    return found or None


def _reconciled(admin: kube.Kube, kind: str, namespace: str, name: str) -> bool:
    body = admin.get(api.API_VERSION, kind, name, namespace) or {}
    ready = conditions.get((body.get("status") or {}).get("conditions") or [], conditions.READY)
    return bool(ready) and ready.get("observedGeneration") == body["metadata"].get("generation")


def _trace_of(span: ReadableSpan) -> int | None:
    return span.context.trace_id if span.context is not None else None


# -- receivers: only what they name, and each delivery once --------------------


def _receiver(
    admin: kube.Kube, name: str, kind: str, resources: list[dict[str, Any]] | None
) -> str:
    data = {
        "token": base64.b64encode(HOOK_TOKEN.encode()).decode(),
        "type": base64.b64encode(kind.encode()).decode(),
    }
    if resources is not None:
        data["resources"] = base64.b64encode(yaml.safe_dump(resources).encode()).decode()
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": PLATFORM_NAMESPACE,
                "labels": {labels.RECEIVER: "true"},
            },
            "data": data,
        },
        field_manager="tests",
    )
    return name


def _requested(caller: Api, namespace: str) -> str | None:
    body = caller.kube.get(api.API_VERSION, "GitRepository", "app", namespace) or {}
    return ((body.get("metadata") or {}).get("annotations") or {}).get(labels.REQUESTED_AT)


@pytest.fixture
def other_namespace(admin: kube.Kube) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    admin.core.create_namespace({"metadata": {"name": name, "labels": {"landlord.dev/test": "1"}}})
    yield name
    admin.core.delete_namespace(name)


def test_a_delivery_does_not_trigger_a_source_its_receiver_does_not_name(
    api_under_attack: Api, namespace: str, other_namespace: str
) -> None:
    """Another team's GitRepository of the same URL is not asked to fetch; nor is anything
    by a receiver that names no resources."""
    caller = api_under_attack
    repo = f"named-{namespace}"
    caller.git.create(repo, public=True)
    caller.git.commit(repo, {"deploy/a.yaml": "kind: ConfigMap\n"})
    caller.source(namespace, repo)
    caller.source(other_namespace, repo)
    named = _receiver(
        caller.kube,
        f"named-{namespace}",
        "github",
        [{"kind": "GitRepository", "name": "app", "namespace": namespace}],
    )
    everything = _receiver(caller.kube, f"unscoped-{namespace}", "github", None)
    payload = {"ref": "refs/heads/main", "repository": {"clone_url": caller.git.url(repo)}}

    status, body, _ = caller.call(
        "POST",
        f"/v1/receivers/{everything}",
        None,
        raw=json.dumps(payload).encode(),
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64},
    )
    assert status == 401, body  # without the token, nothing about the receiver is told
    status, body = caller.deliver(everything, payload, HOOK_TOKEN)
    assert status == 404, body
    assert "names no 'resources'" in body["error"]
    assert _requested(caller, namespace) is None
    assert _requested(caller, other_namespace) is None

    status, body = caller.deliver(named, payload, HOOK_TOKEN)
    assert status == 200, body
    assert body["matched"] == [f"{namespace}/app"]
    assert _requested(caller, namespace) is not None
    assert _requested(caller, other_namespace) is None


def test_a_replayed_delivery_is_ignored(api_under_attack: Api, namespace: str) -> None:
    """The same delivery again — as captured, or under a fresh delivery id — asks nothing."""
    caller = api_under_attack
    repo = f"replayed-{namespace}"
    caller.git.create(repo, public=True)
    caller.git.commit(repo, {"deploy/a.yaml": "kind: ConfigMap\n"})
    caller.source(namespace, repo)
    receiver = _receiver(
        caller.kube,
        f"replay-{namespace}",
        "github",
        [{"kind": "GitRepository", "name": "app", "namespace": namespace}],
    )
    payload = {"after": "1" * 40, "repository": {"clone_url": caller.git.url(repo)}}
    delivery = str(uuid.uuid4())

    status, body = caller.deliver(receiver, payload, HOOK_TOKEN, delivery=delivery)
    assert status == 200, body
    assert body["matched"] == [f"{namespace}/app"]
    first = _requested(caller, namespace)
    assert first is not None

    for again in (delivery, str(uuid.uuid4())):
        status, body = caller.deliver(receiver, payload, HOOK_TOKEN, delivery=again)
        assert status == 200, body
        assert body.get("replayed") is True, body
        assert body["matched"] == []
        assert _requested(caller, namespace) == first

    status, body = caller.deliver(receiver, {**payload, "after": "2" * 40}, HOOK_TOKEN)
    assert status == 200, body  # a new push is a new delivery
    assert body["matched"] == [f"{namespace}/app"]
    exposition = caller.landlord.metrics.exposition().decode()
    assert f'receiver="{receiver}",result="replayed"' in exposition


def test_a_generic_delivery_needs_a_fresh_signed_timestamp(
    api_under_attack: Api, namespace: str
) -> None:
    """A captured generic delivery (old-style, body-only signature, or an old timestamp) fails."""
    caller = api_under_attack
    repo = f"generic-{namespace}"
    caller.git.create(repo, public=True)
    caller.source(namespace, repo)
    receiver = _receiver(
        caller.kube,
        f"generic-{namespace}",
        "generic",
        [{"kind": "GitRepository", "name": "app", "namespace": namespace}],
    )
    raw = json.dumps({"url": caller.git.url(repo)}).encode()

    def send(headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        status, body, _ = caller.call(
            "POST", f"/v1/receivers/{receiver}", None, raw=raw, headers=headers
        )
        return status, body

    body_only = hmac.new(HOOK_TOKEN.encode(), raw, hashlib.sha256).hexdigest()
    status, body = send({"X-Signature": f"sha256={body_only}"})
    assert status == 401, body
    assert "X-Timestamp" in body["error"]
    stale = str(int(time.time()) - 3600)
    signed = hmac.new(HOOK_TOKEN.encode(), stale.encode() + b"." + raw, hashlib.sha256)
    status, body = send({"X-Timestamp": stale, "X-Signature": f"sha256={signed.hexdigest()}"})
    assert status == 401, body
    assert "from now" in body["error"]
    assert _requested(caller, namespace) is None

    fresh = str(int(time.time()))
    signed = hmac.new(HOOK_TOKEN.encode(), fresh.encode() + b"." + raw, hashlib.sha256)
    headers = {"X-Timestamp": fresh, "X-Signature": f"sha256={signed.hexdigest()}"}
    status, body = send(headers)
    assert status == 200, body
    assert body["matched"] == [f"{namespace}/app"]
    status, body = send(headers)
    assert status == 200, body
    assert body.get("replayed") is True, body


def _keyed_create(api: Api, token: str, name: str, key: str) -> tuple[int, dict[str, Any]]:
    status, body, _ = api.call(
        "POST", "/v1/tenants", token, {"name": name, "spec": {}}, headers={"Idempotency-Key": key}
    )
    return status, body


def test_another_callers_idempotency_key_answers_nothing(api_under_attack: Api) -> None:
    """Keys belong to their caller: one who learns a key (it is the request id, in
    annotations and trailers) gets no answer from it and blocks nothing."""
    key = f"key-{uuid.uuid4().hex[:12]}"
    name = api_under_attack.name("mine")
    assert _keyed_create(api_under_attack, api_under_attack.admin_token, name, key)[0] == 201
    before = api_under_attack.commits()

    status, body = _keyed_create(api_under_attack, api_under_attack.stranger_token, name, key)

    assert status in (403, 409), body  # judged as a request of its own
    assert body.get("replayed") is not True
    assert "commit" not in body
    assert api_under_attack.commits() == before
    # ... and the owner's own retry is still answered from its commit.
    status, body = _keyed_create(api_under_attack, api_under_attack.admin_token, name, key)
    assert (status, body["replayed"]) == (201, True), body


def test_an_idempotency_key_reused_for_another_request_commits_nothing(
    api_under_attack: Api,
) -> None:
    key = f"key-{uuid.uuid4().hex[:12]}"
    token = api_under_attack.admin_token
    assert _keyed_create(api_under_attack, token, api_under_attack.name("one"), key)[0] == 201
    before = api_under_attack.commits()

    status, body = _keyed_create(api_under_attack, token, api_under_attack.name("two"), key)

    assert status == 422, body
    assert "Idempotency-Key" in body["error"]
    assert api_under_attack.commits() == before


# -- the status page (/ui): read-only, escaped, the viewer's tenants only --------


class _Browser:
    """Cookies and form posts over plain HTTP, as a browser does them (no JavaScript)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def sign_in(self, token: str) -> str:
        form = urllib.parse.urlencode({"token": token}).encode()
        with self.opener.open(self.base + "/ui/login", data=form, timeout=30) as response:
            assert response.url.endswith("/ui"), response.url
            return str(response.read().decode())

    def get(self, path: str) -> tuple[int, str, str]:
        """(status, final URL, body) — redirects followed."""
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                return response.status, response.url, str(response.read().decode())
        except urllib.error.HTTPError as error:
            return error.code, path, str(error.read().decode())

    def post(self, path: str) -> None:
        with self.opener.open(self.base + path, data=b"", timeout=30):
            pass


def _owned_tenant(caller: Api, prefix: str, owner: bool = True) -> str:
    name = caller.name(prefix)
    spec = {"owners": [owner_of(USERS, "owner")]} if owner else {}
    status, body, _ = caller.call(
        "POST", "/v1/tenants", caller.admin_token, {"name": name, "spec": spec}, wait=True
    )
    assert status == 201, body
    assert body["ready"], body
    return name


def test_the_status_page_escapes_what_a_tenant_writes(api_under_attack: Api) -> None:
    """Spec fields a tenant controls are shown as text, never as markup."""
    caller = api_under_attack
    name = _owned_tenant(caller, "ui-xss")
    hostile = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    caller.kube.apply(
        {
            "apiVersion": api.API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": "xss", "namespace": name},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": "app"},
                "path": "./" + hostile,
                "interval": "1h",
            },
        },
        field_manager="tests",
    )
    browser = _Browser(caller.url)
    browser.sign_in(caller.owner_token)

    def shown() -> str | None:
        status, _, page = browser.get(f"/ui/tenants/{name}")
        return page if status == 200 and "xss" in page else None

    page = eventually(shown, timeout=30, what="the Kustomization on the tenant page")
    assert "<img" not in page
    assert "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_an_owner_sees_neither_another_tenants_page_nor_its_live_updates(
    api_under_attack: Api,
) -> None:
    caller = api_under_attack
    mine = _owned_tenant(caller, "ui-mine")
    theirs = _owned_tenant(caller, "ui-theirs", owner=False)
    secret_words = "theirs-private-message"
    browser = _Browser(caller.url)
    overview = browser.sign_in(caller.owner_token)
    assert mine in overview
    assert theirs not in overview
    status, _, page = browser.get(f"/ui/tenants/{theirs}")
    assert status == 404
    assert theirs not in page.replace(f"/ui/tenants/{theirs}", "")
    # The same answer as for a name that does not exist: no probing by status code.
    assert browser.get("/ui/tenants/no-such-tenant-x")[0] == 404

    # A live stream asked for the other tenant's page sends nothing of it.
    request = urllib.request.Request(caller.url + f"/ui/stream?path=/ui/tenants/{theirs}&version=0")
    with browser.opener.open(request, timeout=30) as stream:
        caller.kube.merge_patch(
            api.API_VERSION,
            "Tenant",
            theirs,
            {"metadata": {"annotations": {"landlord.dev/test-note": secret_words}}},
        )
        received = b""
        while b"event: update" not in received or not received.endswith(b"\n\n"):
            received += stream.read1(65536)  # type: ignore[attr-defined]
    text = received.decode()
    assert "event: update" in text
    assert theirs not in text
    assert "no longer exists" in text


def test_a_session_ends_with_sign_out_and_with_its_token(api_under_attack: Api) -> None:
    caller = api_under_attack
    browser = _Browser(caller.url)
    browser.sign_in(caller.admin_token)
    cookie = next(c for c in browser.jar if c.name == "landlord_session")
    assert cookie.path == "/ui"
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite").lower() == "strict"
    browser.post("/ui/logout")
    # The old session id, replayed after sign-out, is no session.
    replay = _Browser(caller.url)
    replay.jar.set_cookie(cookie)
    assert replay.get("/ui")[1].endswith("/ui/login")

    # A token whose service account is deleted stops working within the token cache.
    doomed = token_for(caller.kube, USERS, "doomed")
    browser = _Browser(caller.url)
    browser.sign_in(doomed)
    caller.kube.delete("v1", "ServiceAccount", "doomed", USERS)
    eventually(
        lambda: browser.get("/ui")[1].endswith("/ui/login") or None,
        timeout=caller.config.api.token_cache_seconds + 20,
        what="the deleted account's session to end",
    )


def test_one_user_cannot_hold_every_live_stream(api_under_attack: Api) -> None:
    """A user's live pages are capped (across its sessions); a closed one is given back."""
    caller = api_under_attack
    browsers = [_Browser(caller.url) for _ in range(2)]  # two sessions of one user
    for browser in browsers:
        browser.sign_in(caller.owner_token)
    opened = []
    try:
        for i in range(ui_routes.MAX_STREAMS_PER_USER):
            opener = browsers[i % 2].opener
            opened.append(opener.open(caller.url + "/ui/stream?path=/ui", timeout=30))
        refused = browsers[1].get("/ui/stream?path=/ui")
        assert refused[0] == 429
        assert "too many live pages" in refused[2]
        # Another user still gets one.
        other = _Browser(caller.url)
        other.sign_in(caller.admin_token)
        with other.opener.open(caller.url + "/ui/stream?path=/ui", timeout=30) as admitted:
            assert admitted.status == 200
        opened.pop().close()

        def admitted_again() -> bool | None:
            try:
                response = browsers[0].opener.open(caller.url + "/ui/stream?path=/ui", timeout=30)
            except urllib.error.HTTPError:
                return None
            opened.append(response)
            return True

        eventually(admitted_again, timeout=15, what="the closed stream's place to be given back")
    finally:
        for response in opened:
            response.close()
