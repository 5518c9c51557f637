"""A chart archive is verified entry by entry before anything reads it."""

from __future__ import annotations

import io
import tarfile

import pytest

from landlord.helm import charts
from tests.helpers import Zeros

CHART_YAML = b"apiVersion: v2\nname: web\nversion: 1.0.0\n"
LIMITS = charts.Limits(
    archive_bytes=1024**2, file_bytes=64 * 1024, total_bytes=128 * 1024, files=10
)


def archive(*entries: tarfile.TarInfo | tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                name, data = entry
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def special(name: str, kind: bytes, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_a_plain_chart_passes_with_its_digest_and_identity() -> None:
    data = archive(("web/Chart.yaml", CHART_YAML), ("web/templates/cm.yaml", b"kind: ConfigMap\n"))

    chart = charts.verify(data, limits=LIMITS, shown="web")

    assert (chart.name, chart.version, chart.files) == ("web", "1.0.0", 2)
    assert chart.digest.startswith("sha256:")
    charts.check_identity(chart, name="web", version="1.0.0", shown="web")
    with pytest.raises(charts.ChartError, match=r"not 'web' version '2\.0\.0'"):
        charts.check_identity(chart, name="web", version="2.0.0", shown="web")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (("../evil.yaml", b"x"), "escapes the chart folder"),
        (("web/../../etc/passwd", b"x"), "escapes the chart folder"),
        (("/etc/passwd", b"x"), "not a relative path"),
        (("other/file", b"x"), "outside the chart folder"),
        (special("web/link", tarfile.SYMTYPE, "/etc/shadow"), "symbolic link to '/etc/shadow'"),
        (special("web/hard", tarfile.LNKTYPE, "web/Chart.yaml"), "hard link"),
        (special("web/dev", tarfile.CHRTYPE), "device"),
        (special("web/fifo", tarfile.FIFOTYPE), "FIFO"),
    ],
)
def test_an_entry_that_breaks_a_rule_refuses_the_archive(
    entry: tarfile.TarInfo | tuple[str, bytes], message: str
) -> None:
    data = archive(("web/Chart.yaml", CHART_YAML), entry)

    with pytest.raises(charts.ChartError, match=message):
        charts.verify(data, limits=LIMITS, shown="web")


def test_a_huge_file_is_refused_from_its_header_before_it_is_read() -> None:
    # 300 MiB of zeros compress to a few hundred KiB: the unpacked size is what counts.
    big = tarfile.TarInfo("web/templates/big.yaml")
    big.size = 300 * 1024**2
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("web/Chart.yaml")
        info.size = len(CHART_YAML)
        tar.addfile(info, io.BytesIO(CHART_YAML))
        tar.addfile(big, Zeros(big.size))
    data = buffer.getvalue()
    assert len(data) < 1024**2

    with pytest.raises(charts.ChartError, match="is 314572800 bytes; the limit per file"):
        charts.verify(data, limits=charts.Limits(), shown="web")


def test_caps_on_count_total_and_archive_size() -> None:
    many = [(f"web/f{i}", b"x") for i in range(11)]
    with pytest.raises(charts.ChartError, match="more than 10 files"):
        charts.verify(archive(("web/Chart.yaml", CHART_YAML), *many), limits=LIMITS, shown="web")
    chunks = [(f"web/f{i}", b"x" * 60_000) for i in range(3)]
    with pytest.raises(charts.ChartError, match="unpacks to more than"):
        charts.verify(archive(("web/Chart.yaml", CHART_YAML), *chunks), limits=LIMITS, shown="web")
    with pytest.raises(charts.ChartError, match="the limit is 10"):
        charts.verify(b"x" * 11, limits=charts.Limits(archive_bytes=10), shown="web")


def test_not_an_archive_or_no_chart_yaml() -> None:
    with pytest.raises(charts.ChartError, match="not a readable chart archive"):
        charts.verify(b"plain text", limits=LIMITS, shown="web")
    with pytest.raises(charts.ChartError, match=r"no Chart\.yaml"):
        charts.verify(archive(("web/values.yaml", b"a: 1\n")), limits=LIMITS, shown="web")


def test_an_archive_with_a_gzip_extra_field_is_read() -> None:
    # `helm package` writes a gzip header with FEXTRA and FCOMMENT set, which Python
    # 3.11's streaming tar reader cannot parse: the verifier must read it anyway.
    import struct
    import zlib

    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w") as tar:
        info = tarfile.TarInfo("web/Chart.yaml")
        info.size = len(CHART_YAML)
        tar.addfile(info, io.BytesIO(CHART_YAML))
    raw = plain.getvalue()
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflate.compress(raw) + deflate.flush()
    extra = b"sa\x04\x00helm"
    header = b"\x1f\x8b\x08\x14" + bytes(4) + b"\x00\xff" + struct.pack("<H", len(extra)) + extra
    data = header + b"Helm\x00" + body + struct.pack("<II", zlib.crc32(raw), len(raw))

    assert charts.verify(data, limits=LIMITS, shown="web").name == "web"
