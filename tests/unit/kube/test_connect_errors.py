"""A kubeconfig that cannot be used is a Landlord error with a hint, not a traceback."""

from __future__ import annotations

import pathlib

import pytest

from landlord import errors, kube


def test_an_unusable_kubeconfig_is_a_terminal_error_naming_it(tmp_path: pathlib.Path) -> None:
    empty = tmp_path / "kubeconfig"
    empty.write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(errors.TerminalError) as raised:
        kube.connect(empty)
    assert f"kubeconfig {empty} is not usable" in raised.value.message
    assert raised.value.hint is not None
    assert "KUBECONFIG" in raised.value.hint
