"""A chart folder from a Git artifact: packaged byte for byte the same, escapes refused."""

from __future__ import annotations

import os
import pathlib

import pytest

from landlord.helm import charts, package

LIMITS = charts.Limits()


def chart(root: pathlib.Path) -> pathlib.Path:
    folder = root / "charts" / "web"
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.3.0\n")
    (folder / "templates" / "cm.yaml").write_text("kind: ConfigMap\n")
    return folder


def test_the_same_folder_gives_the_same_archive_and_it_verifies(tmp_path: pathlib.Path) -> None:
    folder = chart(tmp_path)
    first = package.package(folder, "web", LIMITS, "web")
    os.utime(folder / "Chart.yaml", (1, 1))  # times do not count

    again = package.package(folder, "web", LIMITS, "web")

    assert first == again
    verified = charts.verify(first, limits=LIMITS, shown="web")
    assert (verified.name, verified.version, verified.files) == ("web", "0.3.0", 2)
    assert package.name_of(folder, "web") == ("web", "0.3.0")
    (folder / "templates" / "cm.yaml").write_text("kind: ConfigMap # changed\n")
    assert package.package(folder, "web", LIMITS, "web") != first


@pytest.mark.parametrize("path", ["../outside", "/etc", "charts/../../x"])
def test_a_chart_path_must_stay_inside_the_repository(tmp_path: pathlib.Path, path: str) -> None:
    chart(tmp_path)

    with pytest.raises(charts.ChartError, match="must stay inside the repository"):
        package.folder_of(tmp_path, path, "repo")


def test_a_symlink_in_the_chart_folder_is_refused(tmp_path: pathlib.Path) -> None:
    folder = chart(tmp_path)
    (folder / "templates" / "secret.yaml").symlink_to("/etc/passwd")

    with pytest.raises(charts.ChartError, match="symbolic link"):
        package.package(folder, "web", LIMITS, "web")


def test_a_folder_without_chart_yaml_is_not_a_chart(tmp_path: pathlib.Path) -> None:
    chart(tmp_path)

    with pytest.raises(charts.ChartError, match=r"has no Chart\.yaml"):
        package.folder_of(tmp_path, "./charts", "repo")
    assert package.folder_of(tmp_path, "./charts/web", "repo").name == "web"
