"""Fixture for driving the real dashboard: a Streamlit server on a free port (see browser.py for Chromium)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import LOBSTER_DIR, REPO


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not become healthy at {url} within {timeout:.0f} s")


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`streamlit run app.py` on a free port of 127.0.0.1 with the sample data and runs in a
    temporary folder; yields (url, runs dir) and stops the server afterwards. One server for every browser test
    (starting one is the slow part)."""
    if not LOBSTER_DIR.is_dir():
        pytest.skip(f"the LOBSTER sample data is not at {LOBSTER_DIR}")
    port = _free_port()
    work = tmp_path_factory.mktemp("streamlit")
    runs = work / "runs"
    env = {**os.environ, "MARS_DATA_DIR": str(LOBSTER_DIR), "MARS_RUNS_DIR": str(runs)}
    with (work / "server.log").open("w") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                # no file watching: other tests writing files must not trigger reruns mid-test
                "--server.fileWatcherType",
                "none",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(f"http://127.0.0.1:{port}", server)
            yield f"http://127.0.0.1:{port}", runs
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
