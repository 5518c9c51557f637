"""Git sources: fetch latency for a small and a 5,000-file repository, and an unchanged poll.

Runs the same code path as the GitRepository reconciler (``ls-remote`` → shallow
``fetch`` into a reused clone → ``archive`` → checked extraction and digest)
against the loopback Git server, over HTTP with basic auth.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from landlord.demo import GitServer
from landlord.git import GitRemote
from landlord.git.credentials import Credentials
from landlord.gitops import artifacts, sandbox

ROUNDS = 5
CREDS = Credentials(username="bench", password="bench-password")


def _manifest(index: int) -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{index}\n"
        f'data:\n  index: "{index}"\n'
    )


def _fetch(remote: GitRemote, store: artifacts.ArtifactStore, key: str) -> tuple[float, int]:
    began = time.monotonic()
    sha = remote.ls_remote().branch("main")
    assert sha is not None
    remote.fetch("refs/heads/main", sha)
    limits = artifacts.Limits()
    with remote.open_archive(
        sha, sandbox.Sandbox(), max_bytes=artifacts.archive_cap(limits)
    ) as archive:
        artifact = store.store("bench", key, sha, archive, ignore=None, limits=limits)
    remote.prune()
    return time.monotonic() - began, artifact.files


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="landlord-bench-git-") as tmp:
        root = Path(tmp)
        server = GitServer(root / "server", users={"bench": "bench-password"}).start()
        try:
            print(
                f"{'repository':>22} {'files':>6} {'cold fetch':>11} {'new commit':>11} "
                f"{'unchanged poll':>15}"
            )
            for label, count in (("small", 10), ("5,000 files", 5000)):
                repo = f"bench-{count}"
                server.create(repo)
                server.commit(repo, {f"deploy/cm-{i:05d}.yaml": _manifest(i) for i in range(count)})
                store = artifacts.ArtifactStore(root / "artifacts")
                cold, warm, polls = [], [], []
                files = 0
                for round_ in range(ROUNDS):
                    remote = GitRemote(
                        server.url(repo),
                        CREDS,
                        workdir=root / "work" / f"{repo}-{round_}",
                        timeout=120,
                    )
                    seconds, files = _fetch(remote, store, f"{repo}-cold-{round_}")
                    cold.append(seconds)
                    server.commit(repo, {"deploy/cm-00000.yaml": _manifest(round_ + 100000)})
                    warm.append(_fetch(remote, store, f"{repo}-warm-{round_}")[0])
                    began = time.monotonic()
                    remote.ls_remote()
                    polls.append(time.monotonic() - began)
                print(
                    f"{label:>22} {files:>6} {statistics.median(cold):>10.3f}s "
                    f"{statistics.median(warm):>10.3f}s {statistics.median(polls):>14.3f}s",
                    flush=True,
                )
            print(
                f"(medians of {ROUNDS}; an unchanged poll is one ls-remote and no fetch; "
                f"server requests seen: {sum(server.counters.values())})"
            )
        finally:
            server.stop()
