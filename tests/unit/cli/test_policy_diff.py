"""``landlord policy diff`` without a cluster: policies from folders, requests from files.

What the operator would ask for a Tenant (and for what its revision holds) is
derived here from the same rules as the operator's own checks; the report's
three shapes and its exit codes are what CI reads.
"""

from __future__ import annotations

import base64
import gzip
import json
import pathlib
from typing import Any

import pytest
from click.testing import CliRunner, Result

from landlord.api import tenant as tenant_api
from landlord.cli import main, output, policydiff, policytenants
from landlord.cli import policyrequests as gather
from landlord.policy import requests as recorded
from landlord.policy.engine import DEFAULTS
from landlord.policy.requests import Request, Requester, Seen

MODEL = (DEFAULTS / "model.conf").read_text()
BASE = """\
g, tenant:*, role:tenant
p, role:tenant, source, *://**, allow
p, role:tenant, apply, */*, allow
p, tenant:team-a, depend, team-b/db, allow
p, tenant:team-c, depend, team-b/*, allow
p, role:tenant-owner, api:get, tenants/*, allow
"""


def _ks(namespace: str, name: str) -> Requester:
    return Requester("Kustomization", namespace, name)


RECORD = [
    Seen(Request(("tenant:team-a",), "depend", "team-b/db", "depend", _ks("team-a", "web")), 100.0),
    Seen(
        Request(("tenant:team-c",), "depend", "team-b/db", "depend", _ks("team-c", "jobs")), 100.0
    ),
    Seen(
        Request(
            ("tenant:team-a",),
            "source",
            "https://git.example.com/a.git",
            "source",
            Requester("GitRepository", "team-a", "team-a"),
        ),
        100.0,
    ),
    Seen(
        Request(
            ("tenant:team-b",),
            "source",
            "https://evil.example.com/b.git",
            "source",
            Requester("GitRepository", "team-b", "team-b"),
        ),
        100.0,
    ),
    Seen(
        Request(("tenant:team-a",), "apply", "apps/Deployment", "apply", _ks("team-a", "web")), 1.0
    ),
]


def _folder(root: pathlib.Path, name: str, policy: str) -> pathlib.Path:
    folder = root / name
    folder.mkdir()
    (folder / "model.conf").write_text(MODEL)
    (folder / "policy.csv").write_text(policy)
    return folder


def _record(root: pathlib.Path, seen: list[Seen] = RECORD, **extra: Any) -> pathlib.Path:
    path = root / "record.json.gz"
    path.write_bytes(recorded.dump(seen, **extra))
    return path


def _run(*args: str) -> Result:
    return CliRunner().invoke(main.cli, ["policy", "diff", *args])


def _diff(tmp_path: pathlib.Path, after: str, *args: str, before: str = BASE) -> Result:
    old = _folder(tmp_path, "before", before)
    new = _folder(tmp_path, "after", after)
    record = _record(tmp_path)
    return _run("--from", str(old), "--to", str(new), "--requests", str(record), *args)


# -- what changes, and the exit code CI reads ---------------------------------------


def test_removing_an_allow_line_names_the_kustomization_and_the_line(
    tmp_path: pathlib.Path,
) -> None:
    result = _diff(tmp_path, BASE.replace("p, tenant:team-a, depend, team-b/db, allow\n", ""))
    assert result.exit_code == 2, result.output
    lines = result.stdout.splitlines()
    denied = [line for line in lines if "would stop" in line]
    assert denied == [
        "  ✗ Kustomization team-a/web would stop: depend team-b/db no line allows it "
        "(default deny) (before: allowed by policy.csv:4)"
    ]
    assert "Unchanged: 4 allowed, 0 denied." in lines


def test_a_deny_on_a_source_reports_the_git_repositories(tmp_path: pathlib.Path) -> None:
    result = _diff(tmp_path, BASE + "p, role:tenant, source, https://evil.example.com/**, deny\n")
    assert result.exit_code == 2
    document = json.loads(_diff_json(tmp_path / "j", BASE + _EVIL))
    assert [c["requester"] for c in document["newlyDenied"]] == [
        {"kind": "GitRepository", "namespace": "team-b", "name": "team-b"}
    ]
    assert document["newlyDenied"][0]["after"] == {"effect": "deny", "rule": "policy.csv:7"}
    assert "GitRepository team-b/team-b would stop: source https://evil.example.com/b.git " in (
        result.stdout
    )


_EVIL = "p, role:tenant, source, https://evil.example.com/**, deny\n"


def _diff_json(root: pathlib.Path, after: str) -> str:
    root.mkdir()
    result = _diff(root, after, "-o", "json")
    return result.stdout


def test_reordering_and_rewording_lines_reports_nothing_and_exits_0(
    tmp_path: pathlib.Path,
) -> None:
    shuffled = "# the same lines, another order\n" + "\n".join(reversed(BASE.splitlines())) + "\n"
    result = _diff(tmp_path, shuffled)
    assert result.exit_code == 0, result.output
    assert "No request is decided differently." in result.stdout
    assert "would stop" not in result.stdout


def test_only_newly_allowed_exits_1(tmp_path: pathlib.Path) -> None:
    base = BASE.replace("p, tenant:team-c, depend, team-b/*, allow\n", "")
    result = _diff(tmp_path, BASE, before=base)
    assert result.exit_code == 1, result.output
    assert "Kustomization team-c/jobs would be allowed: depend team-b/db" in result.stdout


def test_a_broken_policy_is_an_error_with_file_and_line_and_exits_4(
    tmp_path: pathlib.Path,
) -> None:
    result = _diff(tmp_path, BASE + "p, role:tenant, depend, team-b/db\n")
    assert result.exit_code == output.CANNOT_TELL
    assert f"{tmp_path / 'after'}/policy.csv:7:" in result.stderr
    assert result.stdout == ""


def test_a_folder_without_model_conf_is_an_error(tmp_path: pathlib.Path) -> None:
    folder = _folder(tmp_path, "before", BASE)
    (folder / "model.conf").unlink()
    result = _run("--from", str(folder), "--to", str(folder), "--requests", str(_record(tmp_path)))
    assert result.exit_code == output.CANNOT_TELL
    assert "model.conf" in result.stderr


def test_bad_usage_exits_4_not_2(tmp_path: pathlib.Path) -> None:
    result = _run("--to", str(tmp_path))
    assert result.exit_code == output.CANNOT_TELL
    assert "--from" in result.output
    result = _run("--from", str(tmp_path), "-o", "yaml")
    assert result.exit_code == output.CANNOT_TELL


def test_an_unknown_revision_exits_4(tmp_path: pathlib.Path) -> None:
    result = _run("--from", "no-such-revision", "--repo", str(tmp_path), "--requests", "x")
    assert result.exit_code == output.CANNOT_TELL
    assert "neither a folder nor a revision" in result.stderr


# -- the record read from a file ---------------------------------------------------------


def test_a_damaged_record_exits_4(tmp_path: pathlib.Path) -> None:
    folder = _folder(tmp_path, "p", BASE)
    for name, data in (
        ("garbage", b"not gzip"),
        ("not-ours", gzip.compress(b'{"format": "something/else"}')),
        ("cut", recorded.dump(RECORD)[:-20]),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        result = _run("--from", str(folder), "--to", str(folder), "--requests", str(path))
        assert result.exit_code == output.CANNOT_TELL, name
        assert f"--requests {path}:" in result.stderr


def test_a_record_that_inflates_without_bound_is_refused() -> None:
    bomb = gzip.compress(b" " * (gather.MAX_DOCUMENT_BYTES + 1024), compresslevel=9)
    with pytest.raises(recorded.FormatError, match="inflates past"):
        gather.decode(bomb)


def test_what_the_record_left_out_is_a_warning(tmp_path: pathlib.Path) -> None:
    folder = _folder(tmp_path, "p", BASE)
    path = _record(tmp_path, overflowing=[_ks("team-a", "web"), None], dropped=7)
    result = _run("--from", str(folder), "--to", str(folder), "--requests", str(path))
    assert result.exit_code == 0
    assert "let 7 older request(s) go" in result.stderr
    assert "requests made outside any reconcile, Kustomization team-a/web asked more" in (
        result.stderr
    )


def test_merge_keeps_each_request_once_with_its_newest_last_seen() -> None:
    request = RECORD[0].request
    older, newer = Seen(request, 1.0, "allow"), Seen(request, 2.0, "deny")
    assert gather.merge([older, newer, request]) == [newer]
    assert gather.merge([request, older]) == [older]
    other = Request(request.subjects, request.action, request.object, "", _ks("x", "y"))
    assert len(gather.merge([older, Seen(other, 0.0)])) == 2


def test_the_record_s_age_in_words() -> None:
    assert gather.age(None) == "of unknown age"
    assert gather.age(100.0, now=130.0) == "30s ago"
    assert gather.age(0.0, now=600.0) == "10m ago"
    assert gather.age(0.0, now=5 * 3600.0) == "5h ago"
    assert gather.age(0.0, now=3 * 86400.0) == "3d ago"


# -- static mode: what the operator would ask for each Tenant ------------------------------


def _tenant(name: str, **spec: Any) -> tenant_api.Tenant:
    return tenant_api.Tenant.from_object({"metadata": {"name": name}, "spec": spec})


TENANTS = policytenants.Tenants.of(
    [
        _tenant("team-a", namespaces=["team-a", "team-a-jobs"]),
        _tenant("team-b"),
    ]
)


def test_a_tenant_s_own_objects_make_the_operator_s_requests() -> None:
    tenant = _tenant(
        "team-a",
        namespaces=["team-a", "team-a-jobs"],
        owners=[
            {"kind": "User", "name": "alice"},
            {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"},
        ],
        clusters=["local", "edge"],
        source={"url": "HTTPS://alice:pw@Git.Example.com:443/a.git"},
        sync={
            "cluster": "edge",
            "dependsOn": [
                {"name": "db", "namespace": "team-b"},  # another tenant: asked
                {"name": "jobs", "namespace": "team-a-jobs"},  # its own namespace: not asked
                {"name": "local"},  # the same namespace: not asked
            ],
        },
        helmRepositories=[{"name": "charts", "url": "https://charts.example.com"}],
        helmReleases=[
            {
                "name": "web",
                "chart": {
                    "spec": {
                        "chart": "web",
                        "sourceRef": {"kind": "HelmRepository", "name": "x", "namespace": "team-b"},
                    }
                },
                "dependsOn": [{"name": "db", "namespace": "team-b"}],
            }
        ],
    )
    found, warnings = policytenants.tenant_requests(tenant, TENANTS, allowed_schemes=["https"])
    assert warnings == []
    asked = {(r.requester, r.subjects, r.action, r.object) for r in found}
    a = ("tenant:team-a",)
    home = "team-a"
    assert asked == {
        # normalised exactly as the operator does before it asks: no userinfo, no default port
        (Requester("GitRepository", home, "team-a"), a, "source", "https://git.example.com/a.git"),
        (_ks(home, "team-a"), a, "depend", "team-b/db"),
        (_ks(home, "team-a"), a, "target", "clusters/edge"),
        (Requester("HelmRepository", home, "charts"), a, "source", "https://charts.example.com/"),
        (Requester("HelmRelease", home, "web"), a, "source", "team-b/x"),
        (Requester("HelmRelease", home, "web"), a, "depend", "team-b/db"),
        *(
            (
                Requester("Tenant", "", "team-a"),
                (who, "role:tenant-owner"),
                f"api:{verb}",
                "tenants/team-a",
            )
            for who in ("user:alice", "group:devs", "user:system:serviceaccount:tools:ci")
            for verb in ("get", "update", "delete", "reconcile")
        ),
    }


def test_a_source_the_operator_refuses_first_is_a_warning_not_a_request() -> None:
    tenant = _tenant("team-a", source={"url": "file:///etc"}, sync={})
    found, warnings = policytenants.tenant_requests(tenant, TENANTS, allowed_schemes=["https"])
    assert [r.action for r in found] == []
    assert len(warnings) == 1
    assert "tenant team-a: its source URL is refused" in warnings[0]


def test_a_revision_s_kinds_and_nested_references() -> None:
    tenant = _tenant("team-a", namespaces=["team-a", "team-a-jobs"], source={"url": "https://g/a"})
    manifests: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "e"}},
        {
            "apiVersion": "landlord.dev/v1alpha1",
            "kind": "Kustomization",
            "metadata": {"name": "inner", "namespace": "team-a-jobs"},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": "shared", "namespace": "team-b"},
                "dependsOn": [
                    {"name": "db", "namespace": "team-b"},
                    {"name": "web", "namespace": "team-a"},  # the same tenant: not asked
                ],
                "cluster": "edge",
            },
        },
        {
            "apiVersion": "landlord.dev/v1alpha1",
            "kind": "GitRepository",
            "metadata": {"name": "more"},
            "spec": {"url": "https://git.example.com/more.git"},
        },
        {"apiVersion": "landlord.dev/v1alpha1", "kind": "GitRepository", "metadata": {"name": "x"}},
        {"kind": "NoVersion"},
        {"apiVersion": ["not", "text"], "kind": "X"},
    ]
    found = policytenants.artifact_requests(tenant, manifests, TENANTS, allowed_schemes=["https"])
    a = ("tenant:team-a",)
    inner = _ks("team-a-jobs", "inner")
    assert [(r.requester, r.subjects, r.action, r.object) for r in found] == [
        (_ks("team-a", "team-a"), a, "apply", "apps/Deployment"),
        (_ks("team-a", "team-a"), a, "apply", "core/ConfigMap"),
        (_ks("team-a", "team-a"), a, "apply", "landlord.dev/GitRepository"),
        (_ks("team-a", "team-a"), a, "apply", "landlord.dev/Kustomization"),
        (inner, a, "source", "team-b/shared"),
        (inner, a, "depend", "team-b/db"),
        (inner, a, "target", "clusters/edge"),
        (
            Requester("GitRepository", "team-a", "more"),
            a,
            "source",
            "https://git.example.com/more.git",
        ),
    ]


def test_tenants_read_from_a_folder_and_invalid_ones_warned(tmp_path: pathlib.Path) -> None:
    (tmp_path / "team-a.yaml").write_text(
        "apiVersion: landlord.dev/v1alpha1\nkind: Tenant\nmetadata: {name: team-a}\n"
        "spec:\n  source: {url: 'https://g/a'}\n"
        "  sync: {dependsOn: [{name: db, namespace: team-b}]}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ignored}\n"
    )
    nested = tmp_path / "more"
    nested.mkdir()
    (nested / "bad.yml").write_text(
        "apiVersion: landlord.dev/v1alpha1\nkind: Tenant\nmetadata: {name: Bad_Name}\n"
    )
    (nested / "broken.yaml").write_text("a: [\n")
    (tmp_path / ".hidden.yaml").write_text("kind: Tenant\n")
    gathered = policytenants.from_tenants(tmp_path, allowed_schemes=["https"], fetcher=None)
    assert [(r.action, r.object) for r in gathered.requests if isinstance(r, Request)] == [
        ("source", "https://g/a"),
        ("depend", "team-b/db"),
    ]
    assert any(w.startswith("more/bad.yml: Tenant Bad_Name is invalid") for w in gathered.warnings)
    assert any(w.startswith("more/broken.yaml: not read") for w in gathered.warnings)
    assert any("--no-fetch" in w for w in gathered.warnings)
    assert gathered.origins == [
        f"1 tenant in {tmp_path} (their repositories not fetched: --no-fetch)"
    ]


def test_static_mode_end_to_end_without_fetching(tmp_path: pathlib.Path) -> None:
    tenants = tmp_path / "repo" / "tenants"
    tenants.mkdir(parents=True)
    (tenants / "team-a.yaml").write_text(
        "apiVersion: landlord.dev/v1alpha1\nkind: Tenant\nmetadata: {name: team-a}\n"
        "spec:\n  source: {url: 'https://g/a'}\n"
        "  sync: {dependsOn: [{name: db, namespace: team-b}]}\n"
    )
    old = _folder(tmp_path, "before", BASE)
    new = _folder(
        tmp_path, "after", BASE.replace("p, tenant:team-a, depend, team-b/db, allow\n", "")
    )
    result = _run(
        "--from", str(old), "--to", str(new), "--repo", str(tmp_path / "repo"), "--no-fetch"
    )
    assert result.exit_code == 2, result.output
    assert "Kustomization team-a/team-a would stop: depend team-b/db" in result.stdout


# -- the three shapes ---------------------------------------------------------------------


def test_the_json_document_is_stable(tmp_path: pathlib.Path) -> None:
    after = BASE.replace("p, tenant:team-a, depend, team-b/db, allow\n", "") + _EVIL
    document = json.loads(_diff_json(tmp_path / "j", after))
    assert list(document) == [
        "from",
        "to",
        "source",
        "requests",
        "newlyDenied",
        "newlyAllowed",
        "unchanged",
        "stopping",
        "warnings",
        "exitCode",
    ]
    assert (document["from"]["lines"], document["to"]["lines"]) == (6, 6)
    assert document["from"]["digest"].startswith("sha256:")
    assert document["source"]["mode"] == "file"
    assert document["source"]["recordedAt"] == "1970-01-01T00:01:40Z"
    assert document["requests"] == 5
    assert document["unchanged"] == {"allowed": 3, "denied": 0}
    assert document["stopping"] == ["GitRepository team-b/team-b", "Kustomization team-a/web"]
    assert document["exitCode"] == 2
    change = document["newlyDenied"][0]
    assert change["before"] == {"effect": "allow", "rule": "policy.csv:4"}
    assert change["after"] == {"effect": "deny", "rule": None}
    assert change["lastSeen"] == 100.0


def test_the_markdown_summary(tmp_path: pathlib.Path) -> None:
    after = BASE.replace("p, tenant:team-a, depend, team-b/db, allow\n", "")
    result = _diff(tmp_path, after, "-o", "markdown")
    assert result.exit_code == 2
    text = result.stdout
    assert text.startswith("### Policy diff: 1 newly denied, 0 newly allowed\n")
    assert "| Object | Request | Now | Before |" in text
    assert (
        "| Kustomization team-a/web | depend team-b/db | no line allows it (default deny) | "
        "allowed by policy.csv:4 |"
    ) in text
    assert "Unchanged: 4 allowed, 0 denied." in text
    assert "<details>" not in text  # no warning, nothing folded


def test_markdown_escapes_what_a_tenant_wrote() -> None:
    hostile = "a|b`c`<img src=x>@everyone #12 [x](https://evil) **bold**\nrow\r_x_ &amp;"
    escaped = policydiff.md(hostile)
    assert "\n" not in escaped
    assert "\r" not in escaped
    for raw in ("|", "`", "<", ">", "@", "](", "**", "://"):
        assert raw not in escaped.replace("\\|", "").replace("\\`", "").replace("\\*", "").replace(
            "\\]", ""
        ).replace("\\[", "")
    assert "&amp;amp;" in escaped
    assert "#12" not in escaped
    assert policydiff.md("\x1b]0;title\x07ok") == "\\]0;titleok"


def test_warnings_are_folded_away_in_markdown(tmp_path: pathlib.Path) -> None:
    folder = _folder(tmp_path, "p", BASE)
    path = _record(tmp_path, dropped=3)
    result = _run(
        "--from", str(folder), "--to", str(folder), "--requests", str(path), "-o", "markdown"
    )
    assert "<details><summary>1 warning(s)</summary>" in result.stdout
    assert "let 3 older request\\(s) go" not in result.stdout
    assert "let 3 older request(s) go" in result.stdout


def test_the_record_s_policy_is_named_when_it_is_not_from(tmp_path: pathlib.Path) -> None:
    folder = _folder(tmp_path, "p", BASE)
    path = _record(tmp_path, digest="sha256:" + "ab" * 32)
    result = _run("--from", str(folder), "--to", str(folder), "--requests", str(path))
    assert "recorded these requests under policy abababababab" in result.stderr


def test_a_live_record_is_read_with_one_list_call_and_merged() -> None:
    class Kube:
        def __init__(self) -> None:
            self.calls: list[tuple[Any, ...]] = []

        def list_objects(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            self.calls.append((args, kwargs))
            newer = [Seen(RECORD[0].request, 500.0)]
            return [
                _configmap("landlord-policy-requests-2", recorded.dump(newer)),
                _configmap("landlord-policy-requests-1", recorded.dump(RECORD)),
            ]

    client = Kube()
    gathered = gather.from_live(client, "ns").merged()  # type: ignore[arg-type]
    assert client.calls == [
        (
            ("v1", "ConfigMap"),
            {"namespace": "ns", "label_selector": "landlord.dev/policy-requests=true"},
        )
    ]
    assert len(gathered.requests) == len(RECORD)
    first = next(
        s for s in gathered.requests if isinstance(s, Seen) and s.request == RECORD[0].request
    )
    assert first.last_seen == 500.0
    assert gathered.recorded_at == 500.0
    assert gathered.origins == [
        "the operator's record (2 ConfigMaps in ns: landlord-policy-requests-1, "
        "landlord-policy-requests-2)"
    ]


def _configmap(name: str, data: bytes | None) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": name}}
    if data is not None:
        body["binaryData"] = {"requests.json.gz": base64.b64encode(data).decode()}
    return body


def test_an_empty_or_damaged_live_record_is_an_error() -> None:
    class Kube:
        def __init__(self, items: list[dict[str, Any]]) -> None:
            self.items = items

        def list_objects(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            return self.items

    with pytest.raises(gather.RecordError, match="has not recorded any requests yet"):
        gather.from_live(Kube([]), "ns")  # type: ignore[arg-type]
    with pytest.raises(gather.RecordError, match=r"has no binaryData key requests\.json\.gz"):
        gather.from_live(Kube([_configmap("x", None)]), "ns")  # type: ignore[arg-type]
    with pytest.raises(gather.RecordError, match=r"ConfigMap ns/x: requests\.json\.gz is damaged"):
        gather.from_live(Kube([_configmap("x", b"nope")]), "ns")  # type: ignore[arg-type]
