"""Shared fixtures: the bundled LOBSTER sample days and a tiny LOBSTER file pair to corrupt."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from llm_stub import StubLLM, serve_stub
from lobster_tiny import SAMPLE_DATE, TINY_MESSAGES, tiny_book_rows

from mars_core.data import LobsterDay, find_dataset, load_day
from mars_core.sim.config import SimConfig
from mars_core.sim.runner import run_simulation
from mars_core.sim.runs import simulation_dir


@dataclass
class TinyLobster:
    """A written LOBSTER pair; `set_line`/`write` rewrite it to corrupt it."""

    message: Path
    orderbook: Path
    levels: int

    def lines(self, kind: str) -> list[str]:
        return self._path(kind).read_text().splitlines()

    def write(self, kind: str, lines: list[str]) -> None:
        self._path(kind).write_text("".join(line + "\n" for line in lines))

    def set_line(self, kind: str, line: int, text: str) -> None:
        """Replace 1-based `line` of the "message" or "orderbook" file."""
        lines = self.lines(kind)
        lines[line - 1] = text
        self.write(kind, lines)

    def _path(self, kind: str) -> Path:
        return {"message": self.message, "orderbook": self.orderbook}[kind]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The bundled LOBSTER samples, `../shared/data/lobster` next to the repository."""
    path = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "lobster").resolve()
    if not path.is_dir():
        pytest.skip(f"LOBSTER sample data not found at {path}")
    return path


@pytest.fixture(scope="session")
def goog_day(data_dir: Path) -> LobsterDay:
    return load_day(find_dataset("GOOG", SAMPLE_DATE, data_dir))


@pytest.fixture(scope="session")
def amzn_day(data_dir: Path) -> LobsterDay:
    return load_day(find_dataset("AMZN", SAMPLE_DATE, data_dir))


@pytest.fixture
def tiny_lobster(tmp_path: Path) -> Callable[..., TinyLobster]:
    """Factory: write a valid tiny LOBSTER pair and return it for corruption.

    Call as `tiny_lobster(symbol="TINY", levels=2, folder="")`; files go to tmp_path/folder.
    """

    def make(symbol: str = "TINY", levels: int = 2, folder: str = "") -> TinyLobster:
        target = (tmp_path / folder).resolve()
        target.mkdir(parents=True, exist_ok=True)
        stem = f"{symbol}_{SAMPLE_DATE}_34200000_57600000"
        tiny = TinyLobster(target / f"{stem}_message_{levels}.csv", target / f"{stem}_orderbook_{levels}.csv", levels)
        tiny.write("message", TINY_MESSAGES)
        tiny.write("orderbook", tiny_book_rows(levels))
        return tiny

    return make


# A finished paired what-if run: 2 rollouts x (treated, baseline) of one noise minute, one TWAP buyer.
PAIRED_RUN = {
    "symbol": "GOOG",
    "date": SAMPLE_DATE,
    "start": "10:00:00",
    "minutes": 1.0,
    "rollouts": 2,
    "background": "noise",
    "seed": 0,
    "paired": True,
    "twap": [{"side": 1, "volume": 300, "pvr": 0.9, "ap": 1, "duration_s": 60.0, "interval_s": 30.0}],
}
PAIRED_RUN_TIME = dt.datetime(2024, 1, 2, 3, 4, 5)


@pytest.fixture(scope="session")
def paired_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """PAIRED_RUN, finished, in a runs root of its own (named as if made at PAIRED_RUN_TIME)."""
    config = SimConfig.from_dict(PAIRED_RUN)
    path, _ = simulation_dir(config, tmp_path_factory.mktemp("runs"), now=PAIRED_RUN_TIME)
    run_simulation(config, path, data_dir=str(data_dir), workers=1)
    return path


# The smallest impact study that exercises every section of its report: 12 trajectories (SINDy and the
# decay ODE need 12) and 5 minutes after execution (the decay autocorrelation has lags up to 5 minutes).
TINY_STUDY = {
    "name": "tiny",
    "symbols": ["GOOG"],
    "dates": ["2012-06-21"],
    "start_times": ["11:00"],
    "execution_minutes": 1,
    "horizon_minutes": 5,
    "q_over_v": [0.2, 0.5],
    "configs": ["L1-P0.9", "L5-P0.1"],
    "rollouts": 3,
    "background": "noise",
}


@pytest.fixture(scope="session")
def tiny_study_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """TINY_STUDY, built once per test session and shared by xdist workers (one builds, the others wait)."""
    import os

    from filelock import FileLock

    from mars_core.experiments.impact import StudyConfig, run_study

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the session's root under xdist
    out = shared / "tiny-impact-study"
    with FileLock(str(shared / "tiny-impact-study.lock")):
        if not (out / "results.json").exists():
            run_study(StudyConfig.from_dict(TINY_STUDY), out, data_dir=str(data_dir))
    return out


@pytest.fixture
def llm() -> Iterator[StubLLM]:
    """A stub OpenAI-compatible endpoint on 127.0.0.1 (see llm_stub.py)."""
    with serve_stub() as stub:
        yield stub
