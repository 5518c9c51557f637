"""Decrypt SOPS files with the real ``sops``, confined, one file a run.

Landlord does not read or write the SOPS format itself: ``sops decrypt`` does,
in the build sandbox (no network, no credentials, only the file it is handed
and the binary). The age identities reach it through the environment of that
one run (``SOPS_AGE_KEY``), passed to bubblewrap through a pipe: never a file,
never a command line, never a log line.

``sops`` reports a failure by its exit code; its own words may quote a value of
the file (``Input string … does not match sops' data format``), so a failure is
described from the code, and only an unknown code shows an excerpt, with any
quoted input cut out.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import tempfile
from typing import Literal

from landlord import errors
from landlord.gitops import sandbox as sandbox_mod
from landlord.gitops import yamlsafe
from landlord.gitops.yamlsafe import YamlError

Format = Literal["yaml", "json", "dotenv", "ini", "binary"]

SANDBOX_SOPS = "/sops"
SANDBOX_INPUT = "/in"

# What marks a file of each format as SOPS-encrypted. Any encrypted value marks a
# YAML or JSON file (a file whose MAC was cut out is still refused, by sops).
CIPHER = b"ENC[AES256_GCM,"
MARKERS: dict[Format, tuple[bytes, ...]] = {
    "yaml": (CIPHER, b"mac: ENC["),
    "json": (CIPHER,),
    "dotenv": (b"sops_mac=", CIPHER),
    "ini": (b"[sops]",),
}
SUFFIXES: dict[str, Format] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".env": "dotenv",
    ".ini": "ini",
}
# Key providers other than age, as the sops metadata names them (YAML/JSON keys, or the
# flattened keys of dotenv and INI files): refused before sops runs, so sops never
# tries a cloud KMS, Vault or GnuPG on a tenant's behalf.
OTHER_PROVIDERS = ("kms", "gcp_kms", "azure_kv", "hc_vault", "pgp", "hckms")
AGE_IDENTITY = re.compile(r"^AGE-SECRET-KEY-1[0-9A-Z]+$")

# sops's exit codes (github.com/getsops/sops/v3/cmd/sops/codes) and what they mean here.
_EXITS = {
    128: "no key of {keys} decrypts it: the file was encrypted for other recipients",
    51: "its MAC does not match: the file was changed after it was encrypted",
    52: "it has no MAC: the file was changed after it was encrypted",
    24: "its MAC cannot be decrypted: the file was changed after it was encrypted",
    25: "a value is not in SOPS's encrypted form: the file was edited after it was encrypted",
    4: "its decrypted content cannot be written in its own format",
    2: "sops cannot read it as {format}",
}
# A cut excerpt may end inside the quote: everything after "Input string" up to
# "does not match" (or to the end) goes.
_QUOTED_INPUT = re.compile(r"Input string .*?(?=does not match|$)", re.DOTALL)


class DecryptionError(errors.LandlordError):
    """A file could not be decrypted; the message says which and why, never a value."""

    reason = "DecryptionFailed"


def format_of(name: str, data: bytes) -> Format | None:
    """The SOPS format of an encrypted file (None: not SOPS-encrypted).

    By its suffix; a file of another name counts only in sops's binary format (a
    JSON object of one ``data`` value and the ``sops`` metadata), so a README that
    talks about sops is never taken for an encrypted file.
    """
    suffix = pathlib.PurePosixPath(name).suffix.lower()
    by_name = SUFFIXES.get(suffix)
    if by_name is not None:
        return by_name if any(m in data for m in MARKERS[by_name]) else None
    if CIPHER not in data:
        return None
    try:
        loaded = json.loads(data)
    except ValueError:
        return None
    if isinstance(loaded, dict) and "data" in loaded and isinstance(loaded.get("sops"), dict):
        return "binary"
    return None


def other_providers(data: bytes, fmt: Format) -> list[str]:
    """The key providers other than age an encrypted file's metadata names."""
    found: set[str] = set()
    if fmt in ("dotenv", "ini"):
        for line in data.decode(errors="replace").splitlines():
            key = line.strip().partition("=")[0].strip()
            for name in OTHER_PROVIDERS:
                if key.startswith(f"sops_{name}__") or key == f"sops_{name}":
                    found.add(name)
        return sorted(found)
    try:
        documents = yamlsafe.load_all_raw(data.decode(errors="replace"), "encrypted file")
    except YamlError:
        return []  # sops says what is wrong with the file (JSON is YAML too)
    loaded = documents[0] if documents else None
    metadata = loaded.get("sops") if isinstance(loaded, dict) else None
    if not isinstance(metadata, dict):
        return []
    groups = [metadata, *(g for g in metadata.get("key_groups") or [] if isinstance(g, dict))]
    for group in groups:
        for name in OTHER_PROVIDERS:
            if group.get(name):
                found.add(name)
    return sorted(found)


@dataclasses.dataclass(frozen=True)
class Keys:
    """The age identities of one decryption Secret (``*.agekey`` entries), and its name."""

    secret: str
    age: str

    @classmethod
    def parse(cls, secret: str, data: dict[str, bytes]) -> Keys:
        """The identities of a Secret's ``*.agekey`` entries; a clear error otherwise."""
        lines: list[str] = []
        for name, value in sorted(data.items()):
            if not name.endswith(".agekey"):
                continue
            text = value.decode(errors="replace")
            for line in text.splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if not AGE_IDENTITY.fullmatch(line):
                    raise DecryptionError(
                        f"decryption Secret {secret}: entry {name} holds a line that is not "
                        "an age identity (AGE-SECRET-KEY-1…)"
                    )
                lines.append(line)
        if not lines:
            others = sorted(n for n in data if n.endswith((".asc", ".vault-token")))
            extra = (
                f"; {', '.join(others)} name providers Landlord does not offer (age only)"
                if others
                else ""
            )
            raise DecryptionError(
                f"decryption Secret {secret} has no *.agekey entry with an age identity{extra}"
            )
        return cls(secret, "\n".join(lines))


class Sops:
    """The ``sops`` binary and the sandbox it runs in."""

    def __init__(
        self,
        binary: pathlib.Path | None,
        sandbox: sandbox_mod.Sandbox,
        *,
        scratch: pathlib.Path | None = None,
    ) -> None:
        self.binary = binary
        self.sandbox = sandbox
        self.scratch = scratch

    def decrypt(
        self, data: bytes, fmt: Format, keys: Keys, *, shown: str, seconds: float = 30.0
    ) -> bytes:
        """The plaintext of one encrypted file (in its own format), within ``seconds``."""
        limits = dataclasses.replace(
            self.sandbox.limits,
            wall_seconds=max(1.0, min(seconds, self.sandbox.limits.wall_seconds)),
            cpu_seconds=max(1, min(int(seconds) + 1, self.sandbox.limits.cpu_seconds)),
        )
        if self.binary is None:
            raise DecryptionError(
                f"{shown} is SOPS-encrypted and sops is not built on this operator (run "
                "`landlord cluster build`)"
            )
        others = other_providers(data, fmt)
        if others:
            raise DecryptionError(
                f"{shown} is encrypted for {', '.join(others)} too: Landlord decrypts with age "
                "keys only and never lets sops reach a KMS, Vault or GnuPG for a tenant; "
                "encrypt it for age recipients alone"
            )
        # The encrypted file is no secret (it is in Git); it is handed to sops as a file.
        with tempfile.TemporaryDirectory(prefix="landlord-sops-", dir=self.scratch) as folder:
            encrypted = pathlib.Path(folder) / "input"
            encrypted.write_bytes(data)
            encrypted.chmod(0o644)
            try:
                return self.sandbox.run(
                    [
                        SANDBOX_SOPS,
                        "decrypt",
                        "--input-type",
                        fmt,
                        "--output-type",
                        fmt,
                        f"{SANDBOX_INPUT}/input",
                    ],
                    binds=[
                        sandbox_mod.Bind(pathlib.Path(folder), SANDBOX_INPUT),
                        sandbox_mod.Bind(self.binary.resolve(), SANDBOX_SOPS),
                    ],
                    cwd=sandbox_mod.TMP,
                    env={
                        "HOME": sandbox_mod.TMP,
                        "PATH": "/nonexistent",
                        "SOPS_AGE_KEY": keys.age,
                        # No key file, no SSH keys, no agent: the Secret's identities only.
                        "SOPS_AGE_KEY_FILE": "/nonexistent",
                        "SOPS_AGE_SSH_PRIVATE_KEY_FILE": "/nonexistent",
                        "GNUPGHOME": "/nonexistent",
                        # Unconfined (no network namespace): no cloud identity, no proxy.
                        "AWS_EC2_METADATA_DISABLED": "true",
                        "GCE_METADATA_HOST": "127.0.0.1:1",
                        "HTTP_PROXY": "http://127.0.0.1:1",
                        "HTTPS_PROXY": "http://127.0.0.1:1",
                        "NO_PROXY": "",
                    },
                    limits=limits,
                    what=f"sops decrypt {shown}",
                )
            except sandbox_mod.SandboxUnavailableError:
                raise
            except sandbox_mod.SandboxError as error:
                raise DecryptionError(f"{shown}: {_described(error, keys, fmt)}") from None


def _described(error: sandbox_mod.SandboxError, keys: Keys, fmt: Format) -> str:
    """What a failed run means, in Landlord's words (never sops's quote of a value)."""
    if error.returncode is None:
        return error.message  # timed out or too much output: the sandbox's own words
    known = _EXITS.get(error.returncode)
    if known is not None:
        return known.format(keys=f"Secret {keys.secret}", format=fmt)
    text = _QUOTED_INPUT.sub("Input string <redacted> ", error.message)
    return f"sops exited with {error.returncode}: {text}"
