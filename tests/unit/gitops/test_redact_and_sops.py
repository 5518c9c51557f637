"""Redaction of decrypted values, and how sops's files, keys and failures are read (pure)."""

from __future__ import annotations

import base64
import pathlib
from collections.abc import Sequence

import pytest

from landlord.gitops import sandbox, sops
from landlord.gitops.redact import REDACTED, Redactor

SOPS_BIN = pathlib.Path("/bin/true")  # never run: the sandbox below answers instead
IDENTITY = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"


def test_every_value_and_its_base64_and_each_of_its_lines_are_scrubbed() -> None:
    redactor = Redactor(["hunter2-password", "line-one-secret\nline-two-secret"])
    encoded = base64.b64encode(b"hunter2-password").decode()
    text = f"a: hunter2-password b: {encoded} c: line-two-secret"
    assert redactor.scrub(text) == f"a: {REDACTED} b: {REDACTED} c: {REDACTED}"


def test_a_longer_value_is_scrubbed_whole_before_one_it_contains() -> None:
    redactor = Redactor(["abcd", "abcdefgh"])
    assert redactor.scrub("x abcdefgh y") == f"x {REDACTED} y"


def test_short_values_are_known_but_not_scrubbed_and_forget_drops_everything() -> None:
    redactor = Redactor(["abc", "long-enough"])
    assert "abc" in redactor
    assert "long-enough" in redactor
    assert redactor.scrub("abc long-enough") == f"abc {REDACTED}"
    redactor.forget()
    assert not redactor
    assert redactor.scrub("abc long-enough") == "abc long-enough"


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("db.yaml", b"data:\n  p: ENC[AES256_GCM,data:x]\nsops:\n  mac: ENC[AES]\n", "yaml"),
        ("db.yml", b"sops:\n    mac: ENC[x]\n", "yaml"),
        # Its MAC cut out: still encrypted (sops then refuses it), never applied as is.
        ("cut.yaml", b"data:\n  p: ENC[AES256_GCM,data:x]\n", "yaml"),
        ("db.json", b'{"p": "ENC[AES256_GCM,data:x]", "sops": {}}', "json"),
        ("api.env", b"A=ENC[AES256_GCM,data:x]\nsops_mac=ENC[x]\n", "dotenv"),
        ("app.ini", b"[sops]\nmac = ENC[x]\n", "ini"),
        (
            "token",
            b'{\n\t"data": "ENC[AES256_GCM,data:x]",\n\t"sops": {"mac": "ENC[x]"}\n}',
            "binary",
        ),
        ("plain.yaml", b"kind: Secret\nstringData:\n  mac: plain\n", None),
        ("plain.env", b"A=1\n", None),
        # Documentation about sops is not an encrypted file.
        ("README.md", b"[sops]\nmac: ENC[AES256_GCM,...] is what sops writes\n", None),
    ],
)
def test_a_file_is_encrypted_by_its_suffix_and_markers(
    name: str, data: bytes, expected: str | None
) -> None:
    assert sops.format_of(name, data) == expected


def test_keys_are_the_age_identities_of_agekey_entries_only() -> None:
    keys = sops.Keys.parse(
        "team/sops-age",
        {
            "age.agekey": f"# created: now\n{IDENTITY}\n".encode(),
            "readme.txt": b"not a key",
        },
    )
    assert keys.age == IDENTITY


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "has no *.agekey entry"),
        ({"key.asc": b"-----BEGIN PGP"}, "key.asc name providers Landlord does not offer"),
        ({"age.agekey": b"ssh-ed25519 AAAA"}, "not an age identity"),
    ],
)
def test_a_secret_without_usable_age_keys_is_refused_clearly(
    data: dict[str, bytes], message: str
) -> None:
    with pytest.raises(sops.DecryptionError, match=message.replace("*", r"\*")):
        sops.Keys.parse("team/sops-age", data)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (128, "no key of Secret team/sops-age decrypts it"),
        (51, "MAC does not match"),
        (25, "not in SOPS's encrypted form"),
    ],
)
def test_a_failure_is_told_from_the_exit_code_never_from_sops_words(code: int, words: str) -> None:
    leaked = "Input string hunter2-password does not match sops' data format"
    runner = sops.Sops(SOPS_BIN, FailingSandbox(code, leaked))
    keys = sops.Keys("team/sops-age", IDENTITY)
    with pytest.raises(sops.DecryptionError) as raised:
        runner.decrypt(b"x", "yaml", keys, shown="deploy/db.yaml")
    assert words in raised.value.message
    assert raised.value.message.startswith("deploy/db.yaml: ")
    assert "hunter2" not in raised.value.message


def test_an_unknown_exit_code_shows_sops_words_with_the_quoted_input_cut() -> None:
    for tail in (" does not match sops' data format", ""):  # whole, or cut off by the excerpt
        leaked = f"Error walking tree: Input string hunter2-password{tail}"
        runner = sops.Sops(SOPS_BIN, FailingSandbox(77, leaked))
        with pytest.raises(sops.DecryptionError) as raised:
            runner.decrypt(b"x", "yaml", sops.Keys("s", IDENTITY), shown="f.yaml")
        assert "hunter2" not in raised.value.message
        assert "exited with 77" in raised.value.message


def test_without_sops_built_the_error_says_how_to_build_it() -> None:
    runner = sops.Sops(None, sandbox.Sandbox(mode="unconfined"))
    with pytest.raises(sops.DecryptionError, match="landlord cluster build"):
        runner.decrypt(b"x", "yaml", sops.Keys("s", IDENTITY), shown="f.yaml")


class FailingSandbox(sandbox.Sandbox):
    """A sandbox whose every run exits with ``code`` after writing ``stderr``."""

    def __init__(self, code: int, stderr: str) -> None:
        super().__init__(mode="unconfined")
        self.code = code
        self.stderr = stderr
        self.env: dict[str, str] = {}
        self.argv: list[str] = []

    def run(
        self,
        argv: Sequence[str],
        *,
        binds: Sequence[sandbox.Bind],
        cwd: str,
        env: dict[str, str] | None = None,
        limits: sandbox.Limits | None = None,
        system: bool = False,
        network: bool = False,
        what: str,
    ) -> bytes:
        self.env = dict(env or {})
        self.argv = list(argv)
        raise sandbox.SandboxError(
            f"{what} failed: {self.stderr}", reason="Failed", returncode=self.code
        )


def test_the_identities_reach_sops_through_its_environment_only() -> None:
    recorder = FailingSandbox(128, "")
    runner = sops.Sops(SOPS_BIN, recorder)
    with pytest.raises(sops.DecryptionError):
        runner.decrypt(b"x", "yaml", sops.Keys("s", IDENTITY), shown="f.yaml")
    assert recorder.env["SOPS_AGE_KEY"] == IDENTITY
    assert recorder.env["SOPS_AGE_KEY_FILE"] == "/nonexistent"
    assert not any(IDENTITY in arg for arg in recorder.argv)


@pytest.mark.parametrize(
    ("data", "fmt", "expected"),
    [
        (b"sops:\n  age: [{recipient: age1x}]\n  mac: ENC[x]\n", "yaml", []),
        (b"sops:\n  gcp_kms: [{resource_id: projects/p}]\n  mac: ENC[x]\n", "yaml", ["gcp_kms"]),
        (b'{"sops": {"key_groups": [{"hc_vault": [{}]}]}}', "json", ["hc_vault"]),
        (b"A=ENC[x]\nsops_kms__list_0__map_arn=arn\nsops_mac=ENC[x]\n", "dotenv", ["kms"]),
    ],
)
def test_files_encrypted_for_other_key_providers_are_refused_before_sops_runs(
    data: bytes, fmt: sops.Format, expected: list[str]
) -> None:
    assert sops.other_providers(data, fmt) == expected
    if expected:
        recorder = FailingSandbox(0, "")
        with pytest.raises(sops.DecryptionError, match="age keys only"):
            sops.Sops(SOPS_BIN, recorder).decrypt(data, fmt, sops.Keys("s", IDENTITY), shown="f")
        assert recorder.argv == []  # sops never ran
