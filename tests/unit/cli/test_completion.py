"""Shell completion and the kubectl plugin: scripts, names, and kubectl's completion protocol."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from landlord.cli import completion, main

SCRIPTS = pathlib.Path(sys.executable).parent


def _installed(name: str) -> pathlib.Path:
    path = SCRIPTS / name
    assert path.exists(), f"{name} is not installed next to {sys.executable}: run `make venv`"
    return path


def test_the_kubectl_plugin_is_installed_and_named_as_kubectl_runs_it() -> None:
    result = subprocess.run(
        [str(_installed("kubectl-landlord")), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: kubectl landlord [OPTIONS] COMMAND [ARGS]...")
    assert "events" in result.stdout


def test_kubectl_completes_the_plugin_through_kubectl_complete_landlord() -> None:
    def complete(*words: str) -> list[str]:
        result = subprocess.run(
            [str(_installed("kubectl_complete-landlord")), *words],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    commands = complete("ev")
    assert commands[-1] == ":4"  # cobra's "no file completion"
    assert [line.split("\t")[0] for line in commands[:-1]] == ["events"]
    assert complete("export", "kustomization", "") == [":4"]  # a name: nothing to offer
    assert complete("logs", "--file", "")[-1] == ":0"  # a path: the shell completes files


@pytest.mark.parametrize("shell", completion.SHELLS)
def test_completion_scripts_use_one_variable_for_both_names(shell: str) -> None:
    for name in ("landlord", "kubectl-landlord"):
        text = completion.script(main.cli, shell, name)
        assert completion.COMPLETE_VAR in text
        assert name in text


def test_the_completion_command_prints_the_script() -> None:
    result = CliRunner().invoke(main.cli, ["completion", "zsh"])

    assert result.exit_code == 0
    assert result.output.startswith("#compdef landlord")


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash on this machine")
def test_bash_completes_a_command_with_the_script() -> None:
    landlord = _installed("landlord")
    script = completion.script(main.cli, "bash", "landlord")
    probe = (
        f"{script}\n"
        "COMP_WORDS=(landlord ev); COMP_CWORD=1\n"
        "_landlord_completion landlord\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )

    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PATH": f"{landlord.parent}{os.pathsep}{os.environ['PATH']}"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["events"]


def test_program_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(completion.COMPLETE_VAR, raising=False)
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/kubectl-landlord", "get"])
    assert completion.prog_name() == "kubectl landlord"
    monkeypatch.setenv(completion.COMPLETE_VAR, "bash_complete")
    assert completion.prog_name() == "kubectl-landlord"  # the name the script registered
    monkeypatch.setattr(sys, "argv", ["/x/landlord/__main__.py"])
    assert completion.prog_name() == "landlord"
