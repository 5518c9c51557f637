"""Attacks on the operator's record of policy requests (what `landlord policy diff --live` reads).

A tenant controls its revisions (kinds), its specs (dependsOn, source URLs) and
nothing in the platform namespace; the record must stay bounded per tenant,
never carry credentials, and a damaged record must not stop the operator.
"""

from __future__ import annotations

import base64
import gzip
import json
import time

import yaml

from landlord import kube
from landlord.api import labels
from landlord.demo import GitServer
from landlord.policy import requests
from landlord.policy.gate import Gate
from landlord.policy.requests import Recorder, Requester
from landlord.settings import PLATFORM_NAMESPACE
from tests.fixtures.operator import OperatorProcess, Tenants
from tests.helpers import eventually
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
    write(f"{NAME}-7", forged)
    write(
        f"{NAME}-8", gzip.compress(json.dumps({"format": requests.FORMAT, "dropped": "x"}).encode())
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
        if f"{NAME}-7" in names or f"{NAME}-8" in names:
            return None
        try:
            return [[s for d in _documents(admin) for s in requests.read(d).seen]]
        except requests.FormatError:
            return None

    [seen] = eventually(rewritten, timeout=45, what="a readable record of the operator's own")
    assert not any(s.request.object == "victim/db" for s in seen)
    assert operator.process is not None
    assert operator.process.poll() is None
