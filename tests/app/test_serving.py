"""How `make app` serves the dashboard: it says what it is setting up, and runs without a file watcher."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

from browser import REPO


def test_the_served_app_watches_no_files() -> None:
    server = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]
    assert server["fileWatcherType"] == "none" and server["runOnSave"] is False
    assert server["address"] == "127.0.0.1"


def test_make_app_announces_every_setup_step_before_it_runs(tmp_path: Path) -> None:
    # a dry run as on a fresh clone: no venv yet, so every step is listed
    lines = subprocess.run(
        ["make", "-n", "app", f"VENV={tmp_path / 'venv'}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    steps = [i for i, line in enumerate(lines) if "pip install" in line or "streamlit run" in line]
    assert len(steps) == 5  # pip itself, torch, the requirements, the engine, the server
    announced = [line for line in lines if line.startswith('echo "==> ')]
    assert [line.split("]")[0] for line in announced[:4]] == [f'echo "==> [{k}/4' for k in range(1, 5)]
    assert "Starting the dashboard at http://127.0.0.1:8501" in announced[-1]
    for step in steps:  # each long step follows its announcement
        assert any(lines[j].startswith("echo") for j in range(max(0, step - 2), step))
