"""``GitServer``: ``git http-backend`` as CGI behind ``http.server``, on 127.0.0.1."""

from __future__ import annotations

import base64
import collections
import hmac
import http.server
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
from typing import Any

_SERVICE = re.compile(rb"command=(ls-refs|fetch)")


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: tests read the counters instead

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self._serve(body)

    def _authorized(self, repo: str, reading: bool) -> bool:
        users = self.server.git.users
        if not users or (reading and repo in self.server.git.public):
            return True
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            expected = users.get(user)
            return expected is not None and hmac.compare_digest(expected, password)
        if header.startswith("Bearer "):
            token = header[7:]
            return any(hmac.compare_digest(token, t) for t in self.server.git.tokens)
        return False

    def _serve(self, body: bytes) -> None:
        git = self.server.git
        path, _, query = self.path.partition("?")
        repo = path.lstrip("/").split("/", 1)[0]
        git.count(repo, "request")
        reading = "git-receive-pack" not in path and "service=git-receive-pack" not in query
        if not self._authorized(repo, reading):
            git.count(repo, "unauthorized")
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="landlord-git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        for command in _SERVICE.findall(body):
            git.count(repo, command.decode())
        if "service=git-upload-pack" in query:
            git.count(repo, "info-refs")
        if self.command == "POST" and path.endswith("/git-receive-pack"):
            git.count(repo, "push")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(git.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "tenant",
            "REMOTE_ADDR": self.client_address[0],
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HOME": str(git.root),
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        result = subprocess.run(
            ["git", "http-backend"],
            input=body,
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        if git.fault and path.endswith("/git-upload-pack") and b"command=fetch" in body:
            payload = _damaged(payload, git.fault)  # the pack, not the ref listing before it
        status = 200
        headers = []
        for line in head.split(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _damaged(payload: bytes, fault: str) -> bytes:
    """A pack answer spoiled on purpose (fault drills): ``truncate`` or ``garbage``."""
    if fault == "truncate":
        return payload[: len(payload) // 2]
    if fault == "garbage":
        return payload[:8] + bytes((b * 7 + 13) % 256 for b in payload[8:])
    return payload


class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    git: GitServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (killed, timed out) is not worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class GitServer:
    """Bare repositories under ``root``, served at ``http://<host>:<port>/<name>.git``.

    ``host`` is loopback unless pods must reach it (a real node's host address).
    ``users`` (name → password) and ``tokens`` (bearer) enable auth; with
    neither, anyone who reaches it may read. Test pushes go through the file system
    (``push``/``commit`` helpers), the way a tenant's CI would push elsewhere.
    """

    def __init__(
        self,
        root: pathlib.Path,
        *,
        users: dict[str, str] | None = None,
        tokens: list[str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.root = root
        self.host = host
        self.users = dict(users or {})
        self.tokens = list(tokens or [])
        self.public: set[str] = set()
        # Fault drills: "truncate" or "garbage" spoils every pack answer until reset.
        self.fault: str | None = None
        self._port = 0  # the port of the first start: a restart serves the same URLs
        self.counters: collections.Counter[tuple[str, str]] = collections.Counter()
        self._lock = threading.Lock()
        self._http: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    def count(self, repo: str, what: str) -> None:
        with self._lock:
            self.counters[(repo, what)] += 1

    def requests(self, repo: str, what: str) -> int:
        """How many requests of a kind (``fetch``, ``ls-refs``, ``info-refs``) a repo got."""
        with self._lock:
            return self.counters[(f"{repo}.git" if not repo.endswith(".git") else repo, what)]

    def start(self) -> GitServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self._http = _HttpServer((self.host, self._port), _Handler)
        self._http.git = self
        self._port = self._http.server_address[1]
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="git-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    @property
    def base_url(self) -> str:
        assert self._http is not None, "start() the server first"
        return f"http://{self.host}:{self._http.server_address[1]}"

    def url(self, repo: str) -> str:
        """The clone URL of ``repo``."""
        return f"{self.base_url}/{repo}.git"

    def create(
        self, repo: str, *, branch: str = "main", pushable: bool = False, public: bool = False
    ) -> pathlib.Path:
        """An empty bare repository whose HEAD is ``branch``.

        ``pushable`` lets (authenticated) clients push over HTTP, as the onboarding
        API does to the platform repository; ``public`` lets anyone read it.
        """
        path = self.root / f"{repo}.git"
        if public:
            self.public.add(f"{repo}.git")
        _git("init", "--bare", "--quiet", f"--initial-branch={branch}", str(path))
        _git("-C", str(path), "config", "uploadpack.allowReachableSHA1InWant", "true")
        _git("-C", str(path), "config", "http.receivepack", "true" if pushable else "false")
        return path

    def commit(
        self,
        repo: str,
        files: dict[str, str | bytes | None],
        *,
        branch: str = "main",
        message: str = "update",
        tag: str | None = None,
        workdir: pathlib.Path | None = None,
    ) -> str:
        """Commit ``files`` (path → content; None deletes) on ``branch``; return the sha."""
        work = workdir or (self.root / ".work" / repo / branch)
        bare = self.root / f"{repo}.git"
        if not (work / ".git").exists():
            work.mkdir(parents=True, exist_ok=True)
            _git("init", "--quiet", f"--initial-branch={branch}", str(work))
            _git("-C", str(work), "remote", "add", "origin", str(bare))
        # Someone else (the onboarding API) may have pushed since: start from the tip.
        has_branch = (
            subprocess.run(
                [
                    "git",
                    "-C",
                    str(bare),
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    f"refs/heads/{branch}",
                ],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
        if has_branch:
            _git("-C", str(work), "fetch", "--quiet", "origin", branch)
            _git("-C", str(work), "reset", "--quiet", "--hard", "FETCH_HEAD")
        for name, content in files.items():
            target = work / name
            if content is None:
                target.unlink(missing_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        _git("-C", str(work), "add", "--all")
        _git(
            "-C",
            str(work),
            "-c",
            "user.name=Tenant",
            "-c",
            "user.email=tenant@example.com",
            "commit",
            "--quiet",
            "--allow-empty",
            "-m",
            message,
        )
        sha = _git("-C", str(work), "rev-parse", "HEAD").strip()
        _git("-C", str(work), "push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{branch}")
        if tag:
            _git("-C", str(work), "tag", "--force", tag)
            _git("-C", str(work), "push", "--quiet", "--force", "origin", f"refs/tags/{tag}")
        return sha

    def commit_tree(
        self,
        repo: str,
        entries: list[tuple[str, str, bytes]],
        *,
        branch: str = "main",
        message: str = "crafted",
    ) -> str:
        """Commit ``(mode, path, content)`` entries with Git's plumbing; return the sha.

        Any mode (``120000`` makes a symlink whose target is the content) and any
        layout, and one blob may appear under many paths: how tests and benches
        build the repositories a hostile tenant would push, without a work tree.
        """
        bare = str(self.root / f"{repo}.git")
        blobs: dict[bytes, str] = {}
        tree: dict[str, Any] = {}
        for mode, path, content in entries:
            if content not in blobs:
                blobs[content] = _git_input(
                    content, "--git-dir", bare, "hash-object", "-w", "--stdin"
                )
            node = tree
            *folders, leaf = path.split("/")
            for folder in folders:
                node = node.setdefault(folder, {})
            node[leaf] = (mode, blobs[content])
        root = _mktree(bare, tree)
        parent = subprocess.run(
            ["git", "--git-dir", bare, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        sha = _git(
            "-c",
            "user.name=Tenant",
            "-c",
            "user.email=tenant@example.com",
            "--git-dir",
            bare,
            "commit-tree",
            root,
            *(["-p", parent] if parent else []),
            "-m",
            message,
        ).strip()
        _git("--git-dir", bare, "update-ref", f"refs/heads/{branch}", sha)
        return sha

    def delete_branch(self, repo: str, branch: str) -> None:
        """Remove ``branch`` from the served repository."""
        _git("-C", str(self.root / f"{repo}.git"), "update-ref", "-d", f"refs/heads/{branch}")
        shutil.rmtree(self.root / ".work" / repo / branch, ignore_errors=True)


def _mktree(bare: str, node: dict[str, Any]) -> str:
    lines = []
    for name, value in sorted(node.items()):
        if isinstance(value, dict):
            lines.append(f"040000 tree {_mktree(bare, value)}\t{name}")
        else:
            mode, sha = value
            lines.append(f"{mode} blob {sha}\t{name}")
    return _git_input(("\n".join(lines) + "\n").encode(), "--git-dir", bare, "mktree")


def _git_input(data: bytes, *args: str) -> str:
    return (
        subprocess.run(["git", *args], input=data, capture_output=True, check=True, env=_env())
        .stdout.decode()
        .strip()
    )


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
    }


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], capture_output=True, text=True, check=True, env=_env()
    ).stdout
