"""Reading a policy: line errors, hot reload, and a broken policy never replacing a good one."""

from __future__ import annotations

import pathlib
import shutil

import pytest

from landlord import telemetry
from landlord.policy import Gate
from landlord.policy.engine import DEFAULTS, Policy, PolicyError, Snapshot
from landlord.policy.reloader import Reloader

MODEL = (DEFAULTS / "model.conf").read_text()


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("p, tenant:a, depend, b/db", "4 fields"),
        ("p, tenat:a, depend, b/db, allow", "must start with one of"),
        ("p, tenant:a, dpend, b/db, allow", "unknown action 'dpend'"),
        ("p, tenant:a, depend, b/db, permit", "must be allow or deny"),
        ("p, tenant:*, depend, b/db, allow", "is a pattern"),
        ("g, tenant:a", "2 fields"),
        ("g, tenant:a, tenant:b", "is not a role"),
        ("x, tenant:a, role:b", "starts with p or g"),
    ],
)
def test_bad_lines_are_named_with_their_line_number(line: str, complaint: str) -> None:
    with pytest.raises(PolicyError) as raised:
        Policy(Snapshot(MODEL, f"# header\n\n{line}\n", "test"))

    assert "policy.csv:3: " in str(raised.value)
    assert complaint in str(raised.value)


def test_a_broken_model_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"model\.conf"):
        Policy(Snapshot(MODEL.replace("m = g(r.sub", "m = nonsense(((r.sub"), "", "test"))


@pytest.fixture
def folder(tmp_path: pathlib.Path) -> pathlib.Path:
    shutil.copy(DEFAULTS / "model.conf", tmp_path / "model.conf")
    (tmp_path / "policy.csv").write_text("p, tenant:a, depend, b/db, allow\n")
    return tmp_path


def _metric(metrics: telemetry.Metrics, name: str) -> str:
    return next(
        line
        for line in metrics.exposition().decode().splitlines()
        if line.startswith((name + " ", name + "{"))
    )


def test_a_changed_file_is_put_in_force(folder: pathlib.Path) -> None:
    metrics = telemetry.Metrics()
    gate = Gate(metrics=metrics)
    loaded: list[Policy] = []
    reloader = Reloader(
        gate,
        lambda: Snapshot.from_directory(folder),
        on_loaded=lambda policy, changed: loaded.append(policy) if changed else None,
    )

    assert reloader.check()
    assert gate.check("depend", ["tenant:a"], "b/db").allowed
    assert not reloader.check()  # unchanged: nothing to do

    (folder / "policy.csv").write_text("p, tenant:a, depend, b/db, deny\n")

    assert reloader.check()
    assert not gate.check("depend", ["tenant:a"], "b/db").allowed
    assert len(loaded) == 2
    assert 'landlord_policy_decisions_total{decision="allow",point="depend"} 1.0' in (
        metrics.exposition().decode()
    )


def test_a_broken_file_keeps_the_last_good_policy_and_says_so_once(folder: pathlib.Path) -> None:
    metrics = telemetry.Metrics()
    gate = Gate(metrics=metrics)
    invalid: list[str] = []
    reloader = Reloader(
        gate,
        lambda: Snapshot.from_directory(folder),
        on_invalid=lambda _snapshot, problem: invalid.append(problem),
        metrics=metrics,
    )
    reloader.check()
    good = gate.policy

    (folder / "policy.csv").write_text("p, tenant:a, depend, b/db, allow\np, oops\n")
    assert not reloader.check()
    assert not reloader.check()

    assert gate.policy is good
    assert gate.check("depend", ["tenant:a"], "b/db").allowed
    assert len(invalid) == 1
    assert "policy.csv:2" in invalid[0]
    assert _metric(metrics, "landlord_policy_valid") == "landlord_policy_valid 0.0"
    assert 'landlord_policy_reloads_total{result="invalid"} 1.0' in metrics.exposition().decode()

    (folder / "policy.csv").write_text("p, tenant:a, depend, b/db, allow\n")
    reloader.check()
    assert _metric(metrics, "landlord_policy_valid") == "landlord_policy_valid 1.0"


def test_without_any_good_policy_everything_is_denied(folder: pathlib.Path) -> None:
    (folder / "policy.csv").write_text("nonsense\n")
    gate = Gate()
    Reloader(gate, lambda: Snapshot.from_directory(folder)).check()

    decision = gate.check("source", ["tenant:a"], "https://h/r.git")

    assert not decision.allowed
    assert "policy unavailable" in decision.explain()
    assert "policy.csv:1" in decision.explain()


def test_a_missing_folder_is_an_error_not_an_empty_policy(tmp_path: pathlib.Path) -> None:
    gate = Gate()
    Reloader(gate, lambda: Snapshot.from_directory(tmp_path / "nowhere")).check()

    assert gate.policy is None
    assert "model.conf" in gate.check("depend", ["tenant:a"], "b/db").explain()


def test_the_same_rules_from_elsewhere_change_only_the_origin(folder: pathlib.Path) -> None:
    metrics = telemetry.Metrics()
    gate = Gate(metrics=metrics)
    calls: list[bool] = []
    origin = ["first"]
    reloader = Reloader(
        gate,
        lambda: Snapshot.from_directory(folder, origin=origin[0]),
        on_loaded=lambda _policy, changed: calls.append(changed),
    )
    reloader.check()
    version = gate.version

    origin[0] = "second"
    assert not reloader.check()

    assert calls == [True, False]
    assert gate.version == version  # nothing is decided again
    assert gate.policy is not None
    assert gate.policy.snapshot.origin == "second"
    assert 'origin="second"' in metrics.exposition().decode()
