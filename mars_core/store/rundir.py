"""Run directories: one per run, Parquet tables per rollout arm, written atomically and read arm by arm.

Layout of a run directory:
    config.json                         the validated configuration (written first)
    summary.json                        counts and timings of the finished run
    timing.json                         wall seconds of every session so far (a resumed run adds to it)
    .lock                               held by the process running into the directory
    rollout=0003/arm=treated/           one finished rollout arm ("main" when unpaired)
        orders.parquet trades.parquet book.parquet bars.parquet start_book.parquet
        agent_orders.parquet agent_fills.parquet done.json
A rollout arm is written into a temporary sibling directory and renamed into
place when complete, so a directory that exists is whole; an interrupted run
resumes by skipping the arms whose directory exists, and removes the temporary
directories of arms a killed run left behind. Tables are streamed to
Parquet chunk by chunk, so memory does not grow with the run length. This module
is the only one that knows the layout: everything else reads through `RunDir`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from mars_core.errors import MarsInputError

TABLES = ("orders", "trades", "book", "bars", "agent_orders", "agent_fills", "start_book")
CONFIG = "config.json"
SUMMARY = "summary.json"
DONE = "done.json"
TIMING = "timing.json"
LOCK = ".lock"
ARM_TMP = ".arm="  # prefix of an arm's temporary directory


def finite(data: Any) -> Any:
    """`data` as JSON can hold it: every NaN or infinite float replaced by None (JSON has no NaN), numpy scalars
    and arrays as Python numbers and lists, tuples as lists."""
    if isinstance(data, np.generic | np.ndarray):
        data = data.tolist()
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite(v) for v in data]
    return data


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file + rename); NaN and infinities become null."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as out:
        json.dump(finite(data), out, indent=1, default=str, allow_nan=False)
    os.replace(tmp, path)


def write_summary(out: Path, result: dict[str, Any], started: float, simulated: float, then: str) -> dict[str, Any]:
    """An experiment's `result` finished and written to out/summary.json: the seconds it spent simulating (from
    `started` to `simulated`, `time.perf_counter` values) and in its next phase until now (key `then`), the total,
    its folder; returned NaN-free, as written."""
    now = time.perf_counter()
    result["timings"] = {"simulate_seconds": round(simulated - started, 1), then: round(now - simulated, 1)}
    result["seconds"] = round(now - started, 1)
    result["dir"] = str(out)
    result = finite(result)
    write_json(out / "summary.json", result)
    return result


def read_json(path: Path, what: str) -> Any:
    """A JSON file of the store; MarsInputError naming the file when it is missing or damaged."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise MarsInputError(f"{path}: missing; not a whole {what}") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise MarsInputError(
            f"{path}: not a readable {what} file ({err}); delete the directory to start over"
        ) from None


def check_directory(out: Path, what: str) -> None:
    """Refuse an output directory that is a file, or lies under one (MarsInputError naming it)."""
    if out.exists() and not out.is_dir():
        raise MarsInputError(f"{out} is a file; give a directory for the {what}")
    file = next((p for p in Path(out).parents if p.exists() and not p.is_dir()), None)
    if file is not None:
        raise MarsInputError(f"{out} lies under {file}, which is a file; give a directory for the {what}")


def claim_directory(out: Path, marker: str, config: dict[str, Any], what: str) -> None:
    """Create `out` holding `config` in its `marker` file, or reopen it when it holds the same one."""
    check_directory(out, what)
    path = out / marker
    if path.exists():
        if read_json(path, what) != json.loads(json.dumps(config, default=str)):
            raise MarsInputError(
                f"{out} already holds a different {what}; choose another output directory (or delete it to start over)"
            )
        return
    if out.exists() and any(out.iterdir()):
        raise MarsInputError(f"{out} exists and is not a MarS {what} directory; choose another output directory")
    out.mkdir(parents=True, exist_ok=True)
    write_json(path, config)


def finished_arms(folder: str | Path, arm: str = "*") -> int:
    """How many rollout arms have finished in the run directories at or below `folder` (any depth)."""
    return sum(1 for _ in Path(folder).glob(f"**/rollout=*/arm={arm}/{DONE}"))


class RunDir:
    """A run directory (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, path: str | Path, config: dict[str, Any]) -> RunDir:
        """Start a run, or reopen it to resume when it holds the same configuration."""
        run = cls(path)
        claim_directory(run.path, CONFIG, config, "run")
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run; a clear error when `path` is not one."""
        run = cls(path)
        if not (run.path / CONFIG).is_file():
            raise MarsInputError(f"{run.path} is not a MarS run directory (no config.json)")
        return run

    @property
    def config(self) -> dict[str, Any]:
        config = read_json(self.path / CONFIG, "run configuration")
        if not isinstance(config, dict):
            raise MarsInputError(f"{self.path / CONFIG}: not a run configuration (not a mapping)")
        return config

    @contextlib.contextmanager
    def lock(self, wait: bool = False) -> Iterator[None]:
        """Hold the run's lock: a second process running into the same directory waits (`wait`) or is refused."""
        lock = FileLock(str(self.path / LOCK))
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            raise MarsInputError(
                f"{self.path} is in use by another run; wait for it to finish (or pass --wait to queue behind it)"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def clean_stale(self) -> int:
        """Remove the temporary directories of arms a killed run left behind (call under the lock); returns how many."""
        stale = [p for p in self.path.glob(f"rollout=*/{ARM_TMP}*") if p.is_dir()]
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)
        return len(stale)

    def elapsed(self) -> float:
        """Wall seconds spent running into this directory by earlier sessions."""
        path = self.path / TIMING
        return float(read_json(path, "run timing").get("seconds", 0.0)) if path.exists() else 0.0

    def set_elapsed(self, seconds: float) -> None:
        write_json(self.path / TIMING, {"seconds": round(seconds, 3)})

    def arm_dir(self, rollout: int, arm: str) -> Path:
        return self.path / f"rollout={rollout:04d}" / f"arm={arm}"

    def is_done(self, rollout: int, arm: str) -> bool:
        return (self.arm_dir(rollout, arm) / DONE).is_file()

    def finished(self) -> list[tuple[int, str]]:
        """(rollout, arm) of every finished arm, in order."""
        done = []
        for marker in sorted(self.path.glob(f"rollout=*/arm=*/{DONE}")):
            done.append((int(marker.parent.parent.name.split("=")[1]), marker.parent.name.split("=")[1]))
        return done

    def read(
        self, rollout: int, arm: str, table: str, columns: list[str] | None = None, filters: list | None = None
    ) -> pd.DataFrame:
        """One table of one finished arm (only `columns`, rows passing pyarrow `filters`); empty when it has none."""
        _check_table(table)
        path = self.arm_dir(rollout, arm) / f"{table}.parquet"
        return pq.read_table(path, columns=columns, filters=filters).to_pandas() if path.exists() else pd.DataFrame()

    def table(self, name: str, rollout: int | None = None, arm: str | None = None) -> pd.DataFrame:
        """One table of one arm, or of every finished arm with `rollout` and `arm` columns."""
        _check_table(name)
        frames = []
        for r, a in self.finished():
            if (rollout is None or r == rollout) and (arm is None or a == arm):
                path = self.arm_dir(r, a) / f"{name}.parquet"
                if path.exists():
                    frame = pq.read_table(path).to_pandas()
                    frame.insert(0, "rollout", r)
                    frame.insert(1, "arm", a)
                    frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def arm_summary(self, rollout: int, arm: str) -> dict[str, Any]:
        return read_json(self.arm_dir(rollout, arm) / DONE, "finished arm's summary")

    def arm_stamp(self, rollout: int, arm: str) -> float:
        """When a finished arm was committed (changes when it is run again): a key for caches of its tables."""
        return (self.arm_dir(rollout, arm) / DONE).stat().st_mtime

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json(self.path / SUMMARY, summary)

    def arm_files(self, rollout: int, arm: str) -> dict[str, bytes]:
        """A finished arm's files by name, to carry it to another machine's store (`put_arm`)."""
        return {path.name: path.read_bytes() for path in sorted(self.arm_dir(rollout, arm).iterdir())}

    def put_arm(self, rollout: int, arm: str, files: dict[str, bytes]) -> None:
        """Commit an arm carried here as `arm_files` (whole, as `ArmWriter` commits); an arm already finished here
        is kept."""
        writer = ArmWriter(self, rollout, arm)
        for name, data in files.items():
            (writer.tmp / Path(name).name).write_bytes(data)
        writer.place()


def _check_table(name: str) -> None:
    if name not in TABLES:
        raise MarsInputError(f"unknown table {name!r}; tables are {', '.join(TABLES)}")


class ArmWriter:
    """Streams one rollout arm's tables into a temporary directory, then renames it into place."""

    def __init__(self, run: RunDir, rollout: int, arm: str) -> None:
        self.final = run.arm_dir(rollout, arm)
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(dir=self.final.parent, prefix=f"{ARM_TMP}{arm}."))
        self._writers: dict[str, pq.ParquetWriter] = {}

    def write(self, table: str, chunk: pd.DataFrame) -> None:
        """Append a chunk to a table (the sink of `Recorder`)."""
        data = pa.Table.from_pandas(chunk, preserve_index=False)
        writer = self._writers.get(table)
        if writer is None:
            writer = self._writers[table] = pq.ParquetWriter(self.tmp / f"{table}.parquet", data.schema)
        writer.write_table(data)

    def commit(self, summary: dict[str, Any]) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        write_json(self.tmp / DONE, summary)
        self.place()

    def place(self) -> None:
        """Rename the written arm into place, unless another process finished it meanwhile (its copy is kept)."""
        if (self.final / DONE).is_file():
            self.abort()
            return
        if self.final.exists():  # a half-written arm from a crash that got renamed: replace it
            shutil.rmtree(self.final)
        os.replace(self.tmp, self.final)

    def abort(self) -> None:
        for writer in self._writers.values():
            writer.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
