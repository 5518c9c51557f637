"""``chartRef``: exactly one chart source, and the chart an OCI artifact's tree holds."""

from __future__ import annotations

import pathlib

import pydantic
import pytest

from landlord.api import helmrelease
from landlord.helm import charts, package

CHART = {"spec": {"chart": "web", "sourceRef": {"kind": "HelmRepository", "name": "r"}}}
REF = {"kind": "OCIRepository", "name": "web"}


@pytest.mark.parametrize(
    ("spec", "valid"),
    [
        ({"chart": CHART}, True),
        ({"chartRef": REF}, True),
        ({}, False),
        ({"chart": CHART, "chartRef": REF}, False),
    ],
)
def test_a_release_names_exactly_one_chart_source(spec: dict[str, object], valid: bool) -> None:
    if valid:
        helmrelease.HelmReleaseSpec.model_validate(spec)
    else:
        with pytest.raises(pydantic.ValidationError, match="exactly one of"):
            helmrelease.HelmReleaseSpec.model_validate(spec)


def _chart(folder: pathlib.Path, version: str = "1.0.0") -> pathlib.Path:
    folder.mkdir(parents=True)
    (folder / "Chart.yaml").write_text(f"apiVersion: v2\nname: web\nversion: {version}\n")
    (folder / "templates").mkdir()
    (folder / "templates" / "cm.yaml").write_text("kind: ConfigMap\n")
    return folder


def _verified(data: bytes) -> tuple[str, str]:
    chart = charts.verify(data, limits=charts.Limits(), shown="t")
    return chart.name, chart.version


def test_a_copied_archive_is_the_chart(tmp_path: pathlib.Path) -> None:
    archive = package.package(_chart(tmp_path / "src"), "web", charts.Limits(), "t")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "web-1.0.0.tgz").write_bytes(archive)

    assert package.from_artifact(tree, charts.Limits(), "t") == archive


def test_an_extracted_chart_folder_or_its_one_folder_is_packaged(tmp_path: pathlib.Path) -> None:
    at_root = _chart(tmp_path / "root")
    nested = tmp_path / "nested"
    _chart(nested / "web", "2.0.0")

    assert _verified(package.from_artifact(at_root, charts.Limits(), "t")) == ("web", "1.0.0")
    assert _verified(package.from_artifact(nested, charts.Limits(), "t")) == ("web", "2.0.0")


def test_an_artifact_without_a_chart_is_refused(tmp_path: pathlib.Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()

    with pytest.raises(charts.ChartError, match="holds no chart"):
        package.from_artifact(tmp_path, charts.Limits(), "t")


def test_a_copied_archive_over_the_cap_is_not_read(tmp_path: pathlib.Path) -> None:
    (tmp_path / "big.tgz").write_bytes(b"x" * 2048)

    with pytest.raises(charts.ChartError, match="the limit is 1024"):
        package.from_artifact(tmp_path, charts.Limits(archive_bytes=1024), "t")
