"""What a machine lacks for a real node is named, and kernel settings are written back."""

from __future__ import annotations

import pathlib

import pytest

from landlord.cluster import controlplane, pki, processes
from landlord.cluster.realnode import host


def test_a_machine_without_root_or_packages_is_told_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(host.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(host.shutil, "which", lambda name: None)

    problems = host.missing()

    assert problems[0].startswith("root")
    assert "containerd" in problems[1]
    assert "iptables" in problems[1]
    assert "make node-tools" in problems[1]
    with pytest.raises(host.RealNodeHostError, match="make node-tools"):
        host.preflight()


def test_controlplane_refuses_real_nodes_before_touching_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.setattr(host, "missing", lambda: ["root: needed"])
    monkeypatch.setattr(controlplane.binaries, "resolve", lambda *a, **k: {})
    options = controlplane.Options(
        state_dir=tmp_path / "state", cache_dir=tmp_path / "cache", real_nodes=1
    )
    with pytest.raises(host.RealNodeHostError, match="root"):
        controlplane.up(options)
    assert not (tmp_path / "state" / "pki").exists()


def test_kernel_settings_are_restored_only_where_they_changed(tmp_path: pathlib.Path) -> None:
    (tmp_path / "kernel").mkdir()
    (tmp_path / "kernel" / "panic_on_oops").write_text("1\n")
    (tmp_path / "kernel" / "panic").write_text("10\n")

    changed = host.restore_kernel_settings(
        {"kernel/panic_on_oops": "0", "kernel/panic": "10"}, root=tmp_path
    )

    assert changed == ["kernel.panic_on_oops"]
    assert (tmp_path / "kernel" / "panic_on_oops").read_text() == "0\n"
    assert host.read_kernel_settings(tmp_path) == {
        "kernel/panic_on_oops": "0",
        "kernel/panic": "10",
    }


def test_a_record_of_a_process_that_execs_another_program_is_found_by_that_program(
    tmp_path: pathlib.Path,
) -> None:
    record = processes.Record("x", 1, ("/usr/bin/nsenter", "--", "/bin/sleep"), "log", "/bin/sleep")
    assert processes.Record.from_json(record.to_json()) == record


def test_node_certificates_carry_the_node_identity_and_serving_addresses(
    tmp_path: pathlib.Path,
) -> None:
    from cryptography import x509

    issued = pki.generate(tmp_path, serving_ips=("10.201.0.1",))
    cert, _ = pki.issue(issued, pki.node_identity("real-node-0"))
    subject = x509.load_pem_x509_certificate(cert.read_bytes()).subject.rfc4514_string()
    assert "CN=system:node:real-node-0" in subject
    assert "O=system:nodes" in subject
    serving, _ = pki.issue(
        issued, pki.ClientIdentity("kubelet-serving", "system:node:n"), server_ips=("10.201.0.10",)
    )
    sans = x509.load_pem_x509_certificate(serving.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert "10.201.0.10" in [str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)]
    api = x509.load_pem_x509_certificate(issued.serving_cert.read_bytes())
    api_ips = api.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "10.201.0.1" in [str(ip) for ip in api_ips.get_values_for_type(x509.IPAddress)]
