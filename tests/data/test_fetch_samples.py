"""fetch-samples against a real HTTP server on 127.0.0.1, and the offline path."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mars_core.cli.data import data_app
from mars_core.data import discover, fetch_samples
from mars_core.data.fetch import sample_file_name
from mars_core.errors import MarsInputError

UNREACHABLE = "http://127.0.0.1:9/"  # the discard port: nothing listens there


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, folder it serves): an HTTP server on 127.0.0.1 for the duration of a test."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/samples/", folder
    finally:
        server.shutdown()
        server.server_close()


def _publish(tiny_lobster, folder: Path, symbol: str = "TINY", levels: int = 2) -> str:
    """Put a LOBSTER-style sample zip of the tiny day under folder/samples/; return its name."""
    tiny = tiny_lobster(symbol=symbol, levels=levels, folder=f"src_{symbol}")
    name = sample_file_name(symbol, "2012-06-21", levels)
    (folder / "samples").mkdir(exist_ok=True)
    with zipfile.ZipFile(folder / "samples" / name, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(tiny.message, tiny.message.name)
        zf.write(tiny.orderbook, tiny.orderbook.name)
        zf.writestr("LOBSTER_SampleFiles_ReadMe.txt", "readme")
    return name


def test_downloads_verifies_and_then_skips(served, tiny_lobster, tmp_path):
    url, folder = served
    name = _publish(tiny_lobster, folder)
    dest = tmp_path / "dest"
    report = fetch_samples(["tiny"], [2], base_url=url, dest=dest)
    assert (report.downloaded, report.skipped, report.failed) == ([name], [], {})
    assert (dest / name).read_bytes() == (folder / "samples" / name).read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == [name]  # no temporary file left
    [info] = discover(dest)
    assert (info.symbol, info.levels, info.messages) == ("TINY", 2, 8)
    again = fetch_samples(["TINY"], [2], base_url=url, dest=dest)
    assert (again.downloaded, again.skipped) == ([], [name])


def test_a_missing_file_fails_alone(served, tiny_lobster, tmp_path):
    url, folder = served
    name = _publish(tiny_lobster, folder)
    report = fetch_samples(["TINY", "NOPE"], [2], base_url=url, dest=tmp_path / "dest")
    missing = sample_file_name("NOPE", "2012-06-21", 2)
    assert report.downloaded == [name]
    assert report.failed == {missing: f"HTTP 404 File not found for {url}{missing}"}


def test_a_download_that_is_not_a_lobster_zip_is_refused_and_removed(served, tmp_path):
    url, folder = served
    name = sample_file_name("HTML", "2012-06-21", 1)
    (folder / "samples").mkdir()
    (folder / "samples" / name).write_text("<html>please log in</html>")
    dest = tmp_path / "dest"
    report = fetch_samples(["HTML"], [1], base_url=url, dest=dest)
    assert list(report.failed) == [name] and "not a readable zip file" in report.failed[name]
    assert list(dest.iterdir()) == []


def test_a_zip_of_the_wrong_day_is_refused(served, tiny_lobster, tmp_path):
    url, folder = served
    published = _publish(tiny_lobster, folder, symbol="TINY", levels=2)
    (folder / "samples" / published).rename(folder / "samples" / sample_file_name("GOOG", "2012-06-21", 2))
    report = fetch_samples(["GOOG"], [2], base_url=url, dest=tmp_path / "dest")
    assert report.failed == {
        sample_file_name("GOOG", "2012-06-21", 2): "zip holds TINY 2 levels, not GOOG with 2 levels"
    }


def test_the_base_url_can_come_from_the_environment(served, tiny_lobster, tmp_path, monkeypatch):
    url, folder = served
    name = _publish(tiny_lobster, folder)
    monkeypatch.setenv("MARS_SAMPLES_URL", url.rstrip("/"))
    assert fetch_samples(["TINY"], [2], dest=tmp_path / "dest").downloaded == [name]


def test_offline_raises_a_clear_input_error(tmp_path):
    dest = tmp_path / "dest"
    with pytest.raises(MarsInputError) as caught:
        fetch_samples(["GOOG"], [10], base_url=UNREACHABLE, dest=dest, timeout=5)
    message = str(caught.value)
    assert message.startswith("cannot reach http://127.0.0.1:9 (offline?): ")
    assert message.endswith(f"; copy LOBSTER zips into {dest} instead")
    assert list(dest.iterdir()) == []


def test_cli_fetch_prints_a_json_report(served, tiny_lobster, tmp_path):
    url, folder = served
    name = _publish(tiny_lobster, folder)
    dest = tmp_path / "dest"
    args = ["fetch-samples", "--symbols", "TINY", "--levels", "2", "--base-url", url, "--dest", str(dest), "--json"]
    result = CliRunner().invoke(data_app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {
        "dest": str(dest.resolve()),
        "downloaded": [name],
        "skipped": [],
        "failed": {},
    }


def test_cli_fetch_exits_1_when_a_file_failed(served, tmp_path):
    url, _ = served
    result = CliRunner().invoke(
        data_app, ["fetch-samples", "--symbols", "NOPE", "--base-url", url, "--dest", str(tmp_path), "--json"]
    )
    assert result.exit_code == 1
    assert list(json.loads(result.output.strip().splitlines()[-1])["failed"]) == [
        sample_file_name("NOPE", "2012-06-21", 10)
    ]


def test_cli_fetch_offline_raises_the_input_error_for_the_cli_to_print(tmp_path):
    result = CliRunner().invoke(
        data_app, ["fetch-samples", "--base-url", UNREACHABLE, "--dest", str(tmp_path), "--timeout", "5"]
    )
    assert isinstance(result.exception, MarsInputError) and "(offline?)" in str(result.exception)


def test_cli_rejects_levels_that_are_not_numbers(tmp_path):
    result = CliRunner().invoke(data_app, ["fetch-samples", "--levels", "ten", "--dest", str(tmp_path)])
    assert isinstance(result.exception, MarsInputError) and "--levels 'ten'" in str(result.exception)
