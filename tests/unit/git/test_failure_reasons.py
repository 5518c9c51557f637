"""What a failed git command is called: a full disk and a spoiled pack say so (issue 19)."""

from __future__ import annotations

import pathlib

import pytest

from landlord.git import GitRemote


def _remote(tmp_path: pathlib.Path) -> GitRemote:
    return GitRemote("https://git.example/team/repo.git", None, workdir=tmp_path, timeout=5)


@pytest.mark.parametrize(
    "stderr",
    [
        "error: RPC failed; curl 18 transfer closed\nfatal: early EOF\nfatal: index-pack failed",
        "fatal: protocol error: bad pack header",
        "fatal: remote-curl: bad line length character: ]]rd",
        "error: inflate: data stream error (incorrect header check)\nfatal: pack has bad object",
    ],
)
def test_a_fetch_whose_pack_is_cut_or_damaged_is_pack_invalid(
    tmp_path: pathlib.Path, stderr: str
) -> None:
    error = _remote(tmp_path)._failure("fetch", stderr, "GitOperationFailed")

    assert error.reason == "PackInvalid"
    assert "last artifact is still served" in error.message
    assert stderr.splitlines()[-1] in error.detail  # the operator's log has git's words


def test_no_space_left_is_storage_full_whatever_the_command(tmp_path: pathlib.Path) -> None:
    for command in ("fetch", "gc", "init"):
        error = _remote(tmp_path)._failure(
            command, "fatal: write error: No space left on device", "GitOperationFailed"
        )
        assert error.reason == "StorageFull"
        assert "LANDLORD_SOURCES__STORAGE_DIR" in error.message


def test_transport_failures_still_read_the_same_to_a_tenant(tmp_path: pathlib.Path) -> None:
    for stderr in ("fatal: unable to access: Connection refused", "fatal: early EOF"):
        error = _remote(tmp_path)._failure("ls-remote", stderr, "GitOperationFailed")
        assert error.reason == "SourceUnreachable"
