"""``landlord policy diff``: what it says, as a platform engineer reads it on the demo.

Each case is a message or an exit code found wrong while following
docs/policies.md on ``landlord up``: where the requests came from, what the
record's bounds left out, ``--to``'s default, owners' API calls (which stop
nothing), and the verdict when the reader closes the pipe.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

from click.testing import CliRunner, Result

from landlord.cli import main, output, policytenants
from landlord.policy import requests as recorded
from landlord.policy.engine import DEFAULTS
from landlord.policy.requests import Request, Requester, Seen

MODEL = (DEFAULTS / "model.conf").read_text()
BASE = """\
g, tenant:*, role:tenant
p, role:tenant, source, *://**, allow
p, role:tenant, apply, */*, allow
p, tenant:team-a, depend, team-b/db, allow
p, role:tenant-owner, api:get, tenants/*, allow
"""
WEB = Requester("Kustomization", "team-a", "web")
TENANT = Requester("Tenant", "", "team-a")
RECORD = [
    Seen(Request(("tenant:team-a",), "depend", "team-b/db", "depend", WEB), 100.0),
    Seen(Request(("tenant:team-a",), "apply", "apps/Deployment", "apply", WEB), 100.0),
    Seen(
        Request(
            ("group:team-a-devs", "role:tenant-owner"), "api:get", "tenants/team-a", "api", TENANT
        ),
        100.0,
    ),
]


def _folder(root: pathlib.Path, name: str, policy: str) -> pathlib.Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "model.conf").write_text(MODEL)
    (folder / "policy.csv").write_text(policy)
    return folder


def _record(root: pathlib.Path, **extra: object) -> pathlib.Path:
    path = root / "record.json.gz"
    path.write_bytes(recorded.dump(RECORD, **extra))  # type: ignore[arg-type]
    return path


def _run(*args: str) -> Result:
    return CliRunner().invoke(main.cli, ["policy", "diff", *args])


# -- where the requests came from, and what is missing ------------------------------------


def test_a_saved_record_is_named_as_the_record_in_its_file(tmp_path: pathlib.Path) -> None:
    folder = _folder(tmp_path, "p", BASE)
    path = _record(tmp_path)
    result = _run("--from", str(folder), "--to", str(folder), "--requests", str(path))
    assert result.exit_code == 0, result.output
    assert f"Replayed 3 requests from the record in {path}; newest record" in result.stdout
    result = _run(
        "--from", str(folder), "--to", str(folder), "--requests", str(path), "-o", "markdown"
    )
    assert "3 requests replayed from the record in " in result.stdout


def test_an_object_cut_short_by_either_bound_is_a_warning_that_names_both(
    tmp_path: pathlib.Path,
) -> None:
    folder = _folder(tmp_path, "p", BASE)
    path = _record(tmp_path, overflowing=[WEB])
    result = _run("--from", str(folder), "--to", str(folder), "--requests", str(path))
    assert (
        "Kustomization team-a/web asked more distinct requests than the record keeps for one "
        "object or one namespace: not all of theirs were replayed"
    ) in result.stderr


def test_no_fetch_says_the_kinds_were_not_replayed_for_one_repository_or_more(
    tmp_path: pathlib.Path,
) -> None:
    tenant = (
        "apiVersion: landlord.dev/v1alpha1\nkind: Tenant\nmetadata: {{name: {name}}}\n"
        "spec:\n  source: {{url: 'https://g/{name}'}}\n  sync: {{path: ./}}\n"
    )
    (tmp_path / "a.yaml").write_text(tenant.format(name="team-a"))
    one = policytenants.from_tenants(tmp_path, allowed_schemes=["https"], fetcher=None)
    assert "--no-fetch: the kinds and references in 1 tenant repository were not replayed" in (
        one.warnings
    )
    (tmp_path / "b.yaml").write_text(tenant.format(name="team-b"))
    two = policytenants.from_tenants(tmp_path, allowed_schemes=["https"], fetcher=None)
    assert "--no-fetch: the kinds and references in 2 tenant repositories were not replayed" in (
        two.warnings
    )


# -- --to's default --------------------------------------------------------------------------


def test_without_to_a_missing_policy_folder_is_named_not_taken_for_a_revision(
    tmp_path: pathlib.Path,
) -> None:
    folder = _folder(tmp_path, "p", BASE)
    repo = tmp_path / "repo"
    repo.mkdir()
    result = _run("--from", str(folder), "--repo", str(repo), "--requests", str(_record(tmp_path)))
    assert result.exit_code == output.CANNOT_TELL
    assert f"--to is not given and the working tree has no policy folder {repo}/policies" in (
        result.stderr
    )
    assert "neither a folder nor a revision" not in result.stderr
    _folder(repo, "policies", BASE.replace("p, tenant:team-a, depend, team-b/db, allow\n", ""))
    result = _run("--from", str(folder), "--repo", str(repo), "--requests", str(_record(tmp_path)))
    assert result.exit_code == 2, result.output
    assert "Kustomization team-a/web would stop: depend team-b/db" in result.stdout


# -- owners' API calls stop nothing ---------------------------------------------------------


def test_an_owner_losing_an_api_call_is_not_an_object_that_would_stop(
    tmp_path: pathlib.Path,
) -> None:
    before = _folder(tmp_path, "before", BASE)
    after = _folder(
        tmp_path, "after", BASE.replace("p, role:tenant-owner, api:get, tenants/*, allow\n", "")
    )
    args = ["--from", str(before), "--to", str(after), "--requests", str(_record(tmp_path))]
    document = json.loads(_run(*args, "-o", "json").stdout)
    assert document["exitCode"] == 2
    assert [c["requester"]["kind"] for c in document["newlyDenied"]] == ["Tenant"]
    assert document["stopping"] == []
    text = _run(*args, "-o", "markdown").stdout
    assert "**Newly denied** — 1 owner API call(s) would be refused:" in text
    assert "would stop" not in text

    both = _folder(
        tmp_path,
        "both",
        BASE.replace("p, role:tenant-owner, api:get, tenants/*, allow\n", "").replace(
            "p, tenant:team-a, depend, team-b/db, allow\n", ""
        ),
    )
    args[3] = str(both)
    document = json.loads(_run(*args, "-o", "json").stdout)
    assert document["stopping"] == ["Kustomization team-a/web"]
    text = _run(*args, "-o", "markdown").stdout
    assert (
        "**Newly denied** — 1 object(s) would stop, 1 owner API call(s) would be refused:" in text
    )


# -- the verdict survives a reader that stops reading ---------------------------------------


def test_text_into_a_closed_pipe_still_exits_with_the_verdict(tmp_path: pathlib.Path) -> None:
    before = _folder(tmp_path, "before", BASE)
    after = _folder(
        tmp_path, "after", BASE.replace("p, tenant:team-a, depend, team-b/db, allow\n", "")
    )
    command = [sys.executable, "-m", "landlord", "policy", "diff", "--from", str(before)]
    command += ["--to", str(after), "--requests", str(_record(tmp_path))]
    # `… | head -0`: the reader is gone before the first line is written. rich exits 1 on
    # a broken pipe, and 1 would read as "only newly allowed".
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stderr.decode()


def test_nothing_to_replay_is_no_verdict(tmp_path: pathlib.Path) -> None:
    empty = tmp_path / "empty.json.gz"
    empty.write_bytes(recorded.dump([]))
    before = _folder(tmp_path, "before", BASE)
    result = _run("--from", str(before), "--to", str(before), "--requests", str(empty))
    assert result.exit_code == output.CANNOT_TELL
    assert "there is no request to replay" in result.output
