"""Process supervision: start in a new session, recognise our own process, stop it."""

from __future__ import annotations

import pathlib
import shutil
import sys

from landlord.cluster import processes


def _sleeper(tmp_path: pathlib.Path, name: str = "sleeper") -> processes.Record:
    return processes.start(
        name, [shutil.which("sleep") or "/bin/sleep", "300"], tmp_path / f"{name}.log"
    )


def test_started_process_runs_until_stopped(tmp_path: pathlib.Path) -> None:
    record = _sleeper(tmp_path)
    assert processes.alive(record)

    processes.stop(record, timeout=5)

    assert not processes.alive(record)
    assert not pathlib.Path(f"/proc/{record.pid}").exists()


def test_a_recycled_pid_is_not_ours(tmp_path: pathlib.Path) -> None:
    record = _sleeper(tmp_path)
    try:
        impostor = processes.Record("etcd", record.pid, ("/somewhere/etcd",), record.log)
        assert not processes.alive(impostor)
    finally:
        processes.stop(record)


def test_stop_escalates_to_sigkill(tmp_path: pathlib.Path) -> None:
    script = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\ntime.sleep(300)\n"
    )
    record = processes.start("stubborn", [sys.executable, "-c", script], tmp_path / "stubborn.log")
    while "ready" not in processes.tail(record.log):
        pass

    processes.stop(record, timeout=0.5)

    assert not processes.alive(record)


def test_record_round_trips_through_json(tmp_path: pathlib.Path) -> None:
    record = processes.Record("etcd", 42, ("/bin/etcd", "--x=1"), str(tmp_path / "l"))
    assert processes.Record.from_json(record.to_json()) == record


def test_tail_returns_the_last_lines(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert processes.tail(log, 3).splitlines() == ["line 97", "line 98", "line 99"]
    assert processes.tail(tmp_path / "missing.log") == ""
