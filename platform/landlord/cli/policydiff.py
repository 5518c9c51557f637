"""``landlord policy diff``: what a policy change would stop and open, before it merges.

Two policies (a folder, or a revision of the platform repository read with
``git cat-file``) answer the same requests (:mod:`landlord.cli.policyrequests`
gathers them: the operator's record with ``--live``, else the platform
repository's ``tenants/`` and the tenants' revisions), and
:func:`landlord.policy.whatif.compare` sorts the answers. The report is text,
JSON or a Markdown summary for a pull-request comment; everything in it that a
tenant wrote (names, URLs, kinds) is escaped for where it is printed.

Exit codes for CI: 0 nothing changes, 1 only newly allowed, 2 something newly
denied, 4 the diff cannot be made (:data:`landlord.cli.output.CANNOT_TELL`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import gc
import os
import pathlib
import re
import subprocess
import sys
import tempfile
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from landlord import errors, kube
from landlord.cli import console, output
from landlord.cli import policyrequests as gather
from landlord.policy import whatif
from landlord.policy.engine import DEFAULTS, Decision, Policy, PolicyError, Snapshot
from landlord.settings import Settings

if TYPE_CHECKING:
    from landlord.cli import policytenants

FORMATS = ("text", "json", "markdown")
# What git may print for one policy file (a 10,000-line policy is under 1 MiB).
MAX_FILE_BYTES = 64 * 1024 * 1024
GIT_TIMEOUT = 30.0
# Lines listed per section in Markdown (a pull-request comment holds 65,536 characters).
MARKDOWN_ROWS = 100


class _UsageError(click.UsageError):
    exit_code = output.CANNOT_TELL


class _DiffCommand(click.Command):
    """Bad usage exits :data:`output.CANNOT_TELL` too: 2 means "something newly denied"."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            raise _UsageError(error.format_message(), error.ctx) from None


# -- the two policies ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Side:
    """One policy of the comparison, and how the user named it."""

    given: str  # as typed: a folder or a revision
    shown: str  # ``main:policies`` (``a1b2c3d4e5f6``), or the folder
    policy: Policy
    note: str = ""  # e.g. the revision has no policy folder: the shipped policy

    @property
    def short_digest(self) -> str:
        return self.policy.digest.removeprefix("sha256:")[:12]

    def as_json(self) -> dict[str, Any]:
        return {
            "ref": self.given,
            "shown": self.shown,
            "digest": self.policy.digest,
            "lines": self.policy.lines,
            "note": self.note or None,
        }


def _git(
    repo: pathlib.Path, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Git in the platform repository: no prompt, no pager, bounded in time."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/nonexistent"),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        "LC_ALL": "C",
    }
    try:
        return subprocess.run(
            ["git", "-C", str(repo), "-c", "core.fsmonitor=false", *args],
            input=stdin,
            capture_output=True,
            env=env,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise errors.TerminalError("git is not installed: a revision cannot be read") from None
    except subprocess.TimeoutExpired:
        raise errors.TerminalError(
            f"git in {repo} did not answer within {GIT_TIMEOUT:.0f}s"
        ) from None


def _objects(repo: pathlib.Path, sha: str, paths: list[str]) -> list[tuple[str, bytes] | None]:
    """Each path of the commit: (its type, its content), None when absent.

    Symbolic links inside the tree are followed (as the artifact the operator
    extracts resolves them); one that leaves the tree counts as absent.
    """
    asked = "".join(f"{sha}:{path}\n" for path in paths).encode()
    done = _git(repo, "cat-file", "--batch", "--follow-symlinks", stdin=asked)
    if done.returncode != 0:
        why = console.printable(done.stderr.decode(errors="replace")).strip()
        raise errors.TerminalError(f"git cat-file in {repo} failed: {why}")
    found: list[tuple[str, bytes] | None] = []
    data = done.stdout
    for _ in paths:
        line, _, data = data.partition(b"\n")
        fields = line.split()
        if len(fields) != 3 or not fields[2].isdigit():
            # "missing", "dangling", "loop", "notdir" name the path; "symlink" has a body
            if fields[:1] == [b"symlink"] and len(fields) == 2 and fields[1].isdigit():
                data = data[int(fields[1]) + 1 :]
            found.append(None)
            continue
        size = int(fields[2])
        found.append((fields[1].decode(), data[:size]))
        data = data[size + 1 :]
    return found


def _invalid(where: str, error: PolicyError) -> errors.TerminalError:
    """The policy's problems, each prefixed with where the file is (``HEAD:policies/``)."""
    problems = [p if p.startswith(where) else f"{where}/{p}" for p in error.problems]
    return errors.TerminalError(
        f"the policy {where} is invalid:\n  " + "\n  ".join(problems),
        hint="`landlord policy check` says more; the operator keeps its last good policy",
    )


def _compiled(snapshot: Snapshot, where: str) -> Policy:
    try:
        return Policy(snapshot)
    except PolicyError as error:
        raise _invalid(where, error) from None


def from_folder(folder: pathlib.Path) -> Side:
    """The policy in a folder: its ``model.conf`` and ``policy.csv`` (both needed)."""
    texts = []
    for name in ("model.conf", "policy.csv"):
        try:
            texts.append((folder / name).read_text())
        except (OSError, UnicodeDecodeError) as error:
            why = getattr(error, "strerror", None) or error
            raise errors.TerminalError(
                f"{folder / name}: {why}",
                hint="a policy folder holds model.conf and policy.csv (`landlord policy check`)",
            ) from None
    where = str(folder).rstrip("/") or "."
    snapshot = Snapshot(texts[0], texts[1], where)
    return Side(str(folder), f"{where}/", _compiled(snapshot, where))


def from_revision(repo: pathlib.Path, revision: str, folder: str) -> Side:
    """The policy in ``folder`` of the platform repository at ``revision``.

    As the operator reads the platform repository: a revision without the
    folder means the policy shipped with Landlord; a folder without
    ``model.conf`` or ``policy.csv`` is an error.
    """
    folder = folder.strip("/") or "."
    done = _git(
        repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"
    )
    if done.returncode != 0:
        inside = _git(repo, "rev-parse", "--git-dir")
        if inside.returncode != 0:
            raise errors.TerminalError(
                f"{revision!r} is neither a folder nor a revision: {repo} is not a Git repository",
                hint="--repo names the platform repository; a folder holds model.conf and "
                "policy.csv",
            )
        raise errors.TerminalError(
            f"{revision!r} is neither a folder nor a revision of the repository in {repo}",
            hint="`git fetch` it first (in CI, check out with enough history: fetch-depth 0)",
        )
    sha = done.stdout.decode().strip()
    shown = f"{revision}:{folder}"
    found = _objects(repo, sha, [folder, f"{folder}/model.conf", f"{folder}/policy.csv"])
    if found[0] is None or found[0][0] != "tree":
        snapshot = Snapshot.from_directory(
            DEFAULTS, origin=f"the policy shipped with Landlord ({revision} has no {folder}/)"
        )
        return Side(
            revision,
            f"{shown} ({sha[:12]})",
            _compiled(snapshot, "the shipped policy"),
            note=f"{revision} has no {folder}/ folder: the operator would enforce the policy "
            "shipped with Landlord",
        )
    texts = []
    for name, blob in zip(("model.conf", "policy.csv"), found[1:], strict=True):
        if blob is None or blob[0] != "blob":
            raise errors.TerminalError(
                f"{shown}/{name}: not in the revision: the operator would refuse this policy "
                "(and keep its last good one)",
                hint="a policy folder holds model.conf and policy.csv",
            )
        if len(blob[1]) > MAX_FILE_BYTES:
            raise errors.TerminalError(f"{shown}/{name}: larger than {MAX_FILE_BYTES} bytes")
        try:
            texts.append(blob[1].decode())
        except UnicodeDecodeError:
            raise errors.TerminalError(f"{shown}/{name}: not UTF-8 text") from None
    snapshot = Snapshot(texts[0], texts[1], f"{folder}/ of {revision} ({sha[:12]})")
    return Side(revision, f"{shown} ({sha[:12]})", _compiled(snapshot, shown))


def load_side(given: str, *, repo: pathlib.Path, folder: str) -> Side:
    """A folder when ``given`` is one, else a revision of ``repo``.

    In CI the working tree is the pull request's: a folder it adds named like the
    revision (``main/``, ``origin/main/``, even when a shallow clone lacks that
    revision) would stand in for it and the diff of any change read "no change". So
    a folder inside the repository, or one named like a revision it has, is read
    only when written as a path (``./main``, an absolute path).
    """
    path = pathlib.Path(given)
    if not path.is_dir():
        return from_revision(repo, given, folder)
    if not given.startswith(("/", "./", "../")):
        top, found = repo.resolve(), path.resolve()
        inside = found == top or top in found.parents
        named = _git(
            repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{given}^{{commit}}"
        )
        if inside or named.returncode == 0:
            what = "a folder of the repository" if inside else "both a folder and a revision"
            raise errors.TerminalError(
                f"{given!r} is {what} in {repo}: a pull request could put a folder there",
                hint=f"write ./{given} for the folder, or the revision's full name "
                "(refs/heads/…, refs/remotes/…, a commit id)",
            )
    return from_folder(path)


def working_tree(repo: pathlib.Path, folder: str) -> Side:
    """``--to``'s default: the policy folder of the working tree (never read as a revision)."""
    path = repo / folder
    if not path.is_dir():
        raise errors.TerminalError(
            f"--to is not given and the working tree has no policy folder {path}",
            hint="give --to REV|DIR, or name the folder with --policy-path "
            "(default LANDLORD_POLICY__REPO_PATH) and the repository with --repo",
        )
    # As a revision's links, and the operator's artifact: a link may not leave the
    # repository (a pull request's policy.csv linking to the runner's kubeconfig would
    # have its lines quoted in the error).
    inside = repo.resolve()
    for name in ("", "model.conf", "policy.csv"):
        resolved = (path / name).resolve()
        if resolved != inside and inside not in resolved.parents:
            raise errors.TerminalError(
                f"{path / name} links outside the repository {repo}: not read",
                hint="the operator does not follow such a link either; give --to DIR to "
                "read a folder elsewhere",
            )
    return from_folder(path)


# -- the report ---------------------------------------------------------------------


@dataclasses.dataclass
class Diff:
    """Everything the report says."""

    before: Side
    after: Side
    mode: str  # live, file, static
    gathered: gather.Gathered
    report: whatif.Report

    @property
    def warnings(self) -> list[str]:
        found = list(self.gathered.warnings)
        recorded_under = self.gathered.digests - {self.before.policy.digest}
        if self.gathered.digests and recorded_under:
            shown = ", ".join(sorted(d.removeprefix("sha256:")[:12] for d in recorded_under))
            found.append(
                f"the operator recorded these requests under policy {shown}, not under --from "
                f"({self.before.short_digest}): --from's answers are compared, not the operator's"
            )
        return found


def _recorded_at(gathered: gather.Gathered) -> str | None:
    if gathered.recorded_at is None:
        return None
    stamp = datetime.datetime.fromtimestamp(gathered.recorded_at, tz=datetime.UTC)
    return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")


def as_json(diff: Diff) -> dict[str, Any]:
    """The stable document of ``-o json``."""
    report = diff.report
    return {
        "from": diff.before.as_json(),
        "to": diff.after.as_json(),
        "source": {
            "mode": diff.mode,
            "origins": diff.gathered.origins,
            "recordedAt": _recorded_at(diff.gathered),
        },
        "requests": report.requests,
        "newlyDenied": [change.as_json() for change in report.newly_denied],
        "newlyAllowed": [change.as_json() for change in report.newly_allowed],
        "unchanged": {"allowed": report.still_allowed, "denied": report.still_denied},
        "stopping": report.stopping(),
        "warnings": diff.warnings,
        "exitCode": report.exit_code,
    }


def _reason(decision: Decision) -> str:
    """``denied by policy.csv:14``, ``no line allows it (default deny)``: why, in a few words."""
    if decision.note:
        return decision.note
    verb = "allowed" if decision.allowed else "denied"
    if decision.rule is not None:
        return f"{verb} by {decision.rule.where}"
    return verb if decision.allowed else "no line allows it (default deny)"


def _origins(diff: Diff) -> str:
    text = "; ".join(diff.gathered.origins)
    if diff.mode in ("live", "file"):
        text += f"; newest record {gather.age(diff.gathered.recorded_at)}"
    return text


def _one_line(text: str) -> str:
    """A change on one line: a line break in a kind (static mode) cannot forge report lines."""
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", " ")


def render_text(diff: Diff) -> None:
    """A header, the changes (each with the line that decided it), the unchanged counts."""
    report, out = diff.report, console.out
    for side, name in ((diff.before, "from"), (diff.after, "to")):
        if side.note:
            console.err.print(
                f"[yellow]note:[/yellow] --{name}: {escape(side.note)}", soft_wrap=True
            )
    for warning in diff.warnings:
        console.err.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)
    out.print(
        f"[bold]Policy diff[/bold] {escape(diff.before.shown)} [dim](sha256:"
        f"{diff.before.short_digest}, {diff.before.policy.lines} lines)[/dim] → "
        f"{escape(diff.after.shown)} [dim](sha256:{diff.after.short_digest}, "
        f"{diff.after.policy.lines} lines)[/dim]",
        soft_wrap=True,
    )
    out.print(
        f"Replayed {report.requests} requests from {escape(_origins(diff))}",
        soft_wrap=True,
    )
    for title, changes, mark, colour in (
        ("Newly denied", report.newly_denied, "✗", "red"),
        ("Newly allowed", report.newly_allowed, "✓", "yellow"),
    ):
        if not changes:
            continue
        out.print(f"\n[bold {colour}]{title} ({len(changes)}):[/bold {colour}]")
        for change in changes:
            out.print(
                f"  [{colour}]{mark}[/{colour}] {escape(_one_line(change.sentence()))} "
                f"[dim](before: {escape(_one_line(_reason(change.before)))})[/dim]",
                soft_wrap=True,
            )
    if not report.newly_denied and not report.newly_allowed:
        out.print("\nNo request is decided differently.")
    out.print(
        f"\nUnchanged: {report.still_allowed} allowed, {report.still_denied} denied.",
        soft_wrap=True,
    )


# Markdown a tenant could write into a name or URL: tables (|), code (`), HTML (<, &),
# links and images ([ ]), emphasis (* _ ~), headings (#), @mentions and #references,
# and line breaks that would end a table row.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]!|~])")


def md(text: str) -> str:
    """``text`` as inert Markdown: one line, no markup, no mention, no HTML, no autolink."""
    text = console.printable(text).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    # @user and @org/team would notify; :// and www. would become links.
    text = text.replace("#", "&#35;").replace("@", "&#64;")
    return text.replace("://", ":&#47;&#47;").replace("www.", "www&#46;")


def _who(change: whatif.Change) -> str:
    """The object that asked; for an owner's onboarding API call, the owner and the Tenant."""
    request = change.request
    if request.point == "api" and request.requester is not None:
        owner = ",".join(s for s in request.subjects if s != gather.OWNER_ROLE)
        return f"{owner} (owner of {request.requester})"
    return change.who


def _markdown_rows(changes: list[whatif.Change]) -> list[str]:
    rows = ["| Object | Request | Now | Before |", "|---|---|---|---|"]
    for change in changes[:MARKDOWN_ROWS]:
        request = change.request
        rows.append(
            f"| {md(_who(change))} | {md(request.action)} {md(request.object)} | "
            f"{md(_reason(change.after))} | {md(_reason(change.before))} |"
        )
    if len(changes) > MARKDOWN_ROWS:
        rows.append(f"| … and {len(changes) - MARKDOWN_ROWS} more (`-o json` lists all) | | | |")
    return rows


def render_markdown(diff: Diff) -> str:
    """A pull-request comment: counts in the heading, tables, warnings folded away."""
    report = diff.report
    denied, allowed = len(report.newly_denied), len(report.newly_allowed)
    if denied or allowed:
        heading = f"### Policy diff: {denied} newly denied, {allowed} newly allowed"
    else:
        heading = "### Policy diff: no change"
    lines = [
        heading,
        "",
        f"{md(diff.before.shown)} (sha256:{diff.before.short_digest}, "
        f"{diff.before.policy.lines} lines) → {md(diff.after.shown)} "
        f"(sha256:{diff.after.short_digest}, {diff.after.policy.lines} lines); "
        f"{report.requests} requests replayed from {md(_origins(diff))}.",
        "",
    ]
    if report.newly_denied:
        stopping = len(report.stopping())
        calls = sum(1 for change in report.newly_denied if change.owner_call)
        what = [f"{stopping} object(s) would stop"] if stopping else []
        what += [f"{calls} owner API call(s) would be refused"] if calls else []
        lines += [
            f"**Newly denied** — {', '.join(what)}:",
            "",
            *_markdown_rows(report.newly_denied),
            "",
        ]
    if report.newly_allowed:
        lines += ["**Newly allowed**", "", *_markdown_rows(report.newly_allowed), ""]
    lines.append(f"Unchanged: {report.still_allowed} allowed, {report.still_denied} denied.")
    warnings = diff.warnings + [
        f"--{name}: {side.note}"
        for side, name in ((diff.before, "from"), (diff.after, "to"))
        if side.note
    ]
    if warnings:
        lines += [
            "",
            f"<details><summary>{len(warnings)} warning(s)</summary>",
            "",
            *(f"- {md(warning)}" for warning in warnings),
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"


# -- the command --------------------------------------------------------------------


def _fetcher(config: Settings, scratch: pathlib.Path, timeout: float) -> policytenants.Fetcher:
    """Fetch and build as the operator does: its sandbox, caps and network deny list."""
    # Only static mode builds: `--live` does not import any of it.
    from landlord.cli import policytenants
    from landlord.cluster import binaries
    from landlord.git import network
    from landlord.gitops import artifacts
    from landlord.gitops import sandbox as sandbox_mod

    sources = config.sources
    return policytenants.Fetcher(
        scratch=scratch,
        sandbox=sandbox_mod.from_settings(config.sandbox),
        kustomize=binaries.find(
            "kustomize", cache_dir=config.cluster.cache_dir, assets_dir=config.cluster.assets_dir
        ),
        limits=artifacts.Limits(
            max_files=sources.max_files,
            max_file_bytes=sources.max_file_bytes,
            max_total_bytes=sources.max_total_bytes,
        ),
        timeout=timeout,
        network_policy=network.NetworkPolicy.from_settings(
            denied=[*sources.denied_networks, *sources.cluster_networks],
            allowed=sources.allowed_networks,
        ),
    )


def _gathered(
    config: Settings,
    *,
    live: bool,
    namespace: str | None,
    files: tuple[pathlib.Path, ...],
    tenants: pathlib.Path,
    fetch: bool,
    fetch_timeout: float,
    scratch: pathlib.Path,
) -> tuple[str, gather.Gathered]:
    found = gather.Gathered()
    if live:
        try:
            client = kube.connect()
        except Exception as error:  # noqa: BLE001 - the client raises its own config errors
            raise gather.RecordError(
                f"--live cannot connect to the cluster: {error}",
                hint="set KUBECONFIG (or use --requests FILE, or leave out --live)",
            ) from None
        found.add(gather.from_live(client, namespace or config.platform_namespace))
    for path in files:
        found.add(gather.from_file(path))
    if live or files:
        return ("live" if live else "file"), found.merged()
    from landlord.cli import policytenants

    fetcher = _fetcher(config, scratch, fetch_timeout) if fetch else None
    found.add(
        policytenants.from_tenants(
            tenants, allowed_schemes=config.sources.allowed_schemes, fetcher=fetcher
        )
    )
    return "static", found.merged()


@click.command("diff", cls=_DiffCommand)
@click.option(
    "--from",
    "from_ref",
    required=True,
    metavar="REV|DIR",
    help="The policy in force: a revision of the platform repository (e.g. main) or a "
    "folder with model.conf and policy.csv (one inside the repository, or named like one of "
    "its revisions, written as a path: ./old-policy).",
)
@click.option(
    "--to",
    "to_ref",
    default=None,
    metavar="REV|DIR",
    help="The changed policy. Default: the --policy-path folder of the working tree.",
)
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=pathlib.Path("."),
    show_default=True,
    help="The platform repository (where REV is read with git).",
)
@click.option(
    "--policy-path",
    default=None,
    help="The policy folder inside the repository. Default: LANDLORD_POLICY__REPO_PATH (policies).",
)
@click.option(
    "--live",
    is_flag=True,
    help="Replay the requests the operator recorded (the ConfigMaps labelled "
    "landlord.dev/policy-requests=true in the platform namespace).",
)
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Where --live reads the record. Default: the platform namespace.",
)
@click.option(
    "--requests",
    "files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    help="Replay the requests of a record saved to a file (gzip JSON, as the operator "
    "publishes it); repeatable.",
)
@click.option(
    "--tenants",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=None,
    help="Without --live: the folder of Tenant files. Default: REPO/tenants.",
)
@click.option(
    "--no-fetch",
    is_flag=True,
    help="Without --live: do not fetch the tenants' repositories (only the requests their "
    "Tenant files make are replayed).",
)
@click.option(
    "--fetch-timeout",
    type=click.FloatRange(min=1, max=600),
    default=60.0,
    show_default=True,
    help="Seconds each step of fetching a tenant's repository may take.",
)
@click.option(
    "-o",
    "--output",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text; json (a stable document for scripts); markdown (a pull-request comment).",
)
@click.pass_obj
def diff_command(
    config: Settings,
    from_ref: str,
    to_ref: str | None,
    repo: pathlib.Path,
    policy_path: str | None,
    live: bool,
    namespace: str | None,
    files: tuple[pathlib.Path, ...],
    tenants: pathlib.Path | None,
    no_fetch: bool,
    fetch_timeout: float,
    output_format: str,
) -> None:
    """Show what changing the policy from --from to --to would deny and allow.

    Replays the requests the platform makes today under both policies: with
    --live, those the operator recorded; otherwise those of the Tenants in the
    platform repository's tenants/ (sources, cross-tenant dependsOn, target
    clusters, owners' onboarding API calls) and, fetched and built as the
    operator would, the kinds and cross-namespace references in each tenant's
    repository. Only the decision counts: a change that reorders or rewords
    lines and decides every request the same reports nothing.

    \b
    Typical use, in a policy pull request:
      landlord policy diff --from main --to HEAD --live
      landlord policy diff --from origin/main --to HEAD -o markdown > comment.md

    \b
    Exit codes (for CI):
      0  no request is decided differently
      1  some requests are newly allowed, none newly denied
      2  some request is newly denied (something would stop)
      4  the diff cannot be made: a policy does not load, a revision or the
         operator's record cannot be read, there is nothing to replay, bad usage
    """  # noqa: D301 - click's \b keeps the lines as they are
    if live or files:
        # A short-lived process building some 100,000 objects (the record, two policies,
        # their decisions) that hold no cycles worth collecting: the collector's passes
        # were half the time of reading the record, and freed nothing. (Static mode
        # fetches and builds for a while: it keeps the collector.)
        gc.disable()
    try:
        folder = (policy_path or config.policy.repo_path).strip("/") or "."
        before = load_side(from_ref, repo=repo, folder=folder)
        after = (
            load_side(to_ref, repo=repo, folder=folder)
            if to_ref is not None
            else working_tree(repo, folder)
        )
        with tempfile.TemporaryDirectory(prefix="landlord-policy-diff-") as scratch:
            mode, gathered = _gathered(
                config,
                live=live,
                namespace=namespace,
                files=files,
                tenants=tenants or repo / "tenants",
                fetch=not no_fetch,
                fetch_timeout=fetch_timeout,
                scratch=pathlib.Path(scratch),
            )
        if not gathered.requests:
            # "No change" over nothing replayed would be a verdict about nothing.
            raise errors.TerminalError(
                "there is no request to replay: "
                + ("the operator's record is empty" if mode == "live" else f"{mode} gave none"),
                hint="check that the operator runs and records (LANDLORD_POLICY__RECORD_REQUESTS), "
                "or that tenants/ holds Tenants",
            )
        diff = Diff(
            before,
            after,
            mode,
            gathered,
            whatif.compare(before.policy, after.policy, gathered.requests),
        )
    except errors.LandlordError as error:
        console.fail(error)
        sys.exit(output.CANNOT_TELL)
    except Exception as error:  # noqa: BLE001 - a crash must not read as exit 1 ("only allowed")
        console.fail(
            errors.TerminalError(f"the diff could not be made: {type(error).__name__}: {error}")
        )
        sys.exit(output.CANNOT_TELL)
    if output_format == "json":
        output.emit(as_json(diff), "json")
    elif output_format == "markdown":
        click.echo(render_markdown(diff), nl=False)
    else:
        # rich exits 1 when the reader closes the pipe (`policy diff | head`), which would
        # read as "only newly allowed": the verdict is the report's all the same.
        with contextlib.suppress(SystemExit):
            render_text(diff)
    sys.exit(diff.report.exit_code)
