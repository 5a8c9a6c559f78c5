"""Download LOBSTER's public sample days (the only network use of MarS, and on request only).

Each file is streamed to a hidden temporary file next to its destination,
checked to be a zip holding a discoverable message/orderbook pair of the
requested symbol and depth, and only then moved into place with `os.replace`,
so an interrupted or bad download never leaves a half file behind.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mars_core.data.catalog import parse_date, scan_file
from mars_core.errors import MarsInputError
from mars_core.paths import DATA_DIR_ENV, LOCAL_DATA_DIR, SAMPLES_URL_ENV

DEFAULT_SAMPLES_URL = "https://lobsterdata.com/info/sample/"
SAMPLE_SYMBOLS = ("AAPL", "AMZN", "GOOG", "INTC", "MSFT")  # what LOBSTER's sample page offers
SAMPLE_LEVELS = (1, 5, 10)
SAMPLE_DATE = "2012-06-21"


@dataclass
class FetchReport:
    """What `fetch_samples` did, per file name."""

    dest: Path
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already present and valid
    failed: dict[str, str] = field(default_factory=dict)  # name -> reason

    def to_dict(self) -> dict[str, Any]:
        return {"dest": str(self.dest), "downloaded": self.downloaded, "skipped": self.skipped, "failed": self.failed}


def sample_file_name(symbol: str, date: str, levels: int) -> str:
    """LOBSTER's name for a sample zip, e.g. `LOBSTER_SampleFile_GOOG_2012-06-21_10.zip`."""
    return f"LOBSTER_SampleFile_{symbol.upper()}_{date}_{levels}.zip"


def default_dest() -> Path:
    """Where samples go without `--dest`: `$MARS_DATA_DIR`, else `./data` (the bundled folder is read-only)."""
    return Path(os.environ.get(DATA_DIR_ENV) or LOCAL_DATA_DIR)


def fetch_samples(
    symbols: list[str] | tuple[str, ...] = SAMPLE_SYMBOLS,
    levels: list[int] | tuple[int, ...] = (10,),
    date: str = SAMPLE_DATE,
    base_url: str | None = None,
    dest: str | Path | None = None,
    timeout: float = 60.0,
) -> FetchReport:
    """Download the LOBSTER sample zips that are not already present.

    Args:
        symbols: tickers, e.g. ("AMZN", "GOOG").
        levels: book depths to fetch, each one of LOBSTER's sample depths or any positive int.
        date: the sample day, YYYY-MM-DD.
        base_url: where the zips live; default `$MARS_SAMPLES_URL`, else LOBSTER's sample page.
        dest: target folder (created); default `default_dest()`.
        timeout: seconds to wait on the server.

    Returns:
        A report of downloaded, skipped and failed files (a failed file is one the
        server refused or that is not a valid LOBSTER zip).

    Raises:
        MarsInputError: the server cannot be reached at all (offline), or bad arguments.
    """
    date = parse_date(date).isoformat()
    if not symbols or not levels or any(n < 1 for n in levels):
        raise MarsInputError("give at least one symbol and positive level counts")
    base = base_url or os.environ.get(SAMPLES_URL_ENV) or DEFAULT_SAMPLES_URL
    base = base if base.endswith("/") else base + "/"
    target = Path(dest) if dest is not None else default_dest()
    target.mkdir(parents=True, exist_ok=True)
    report = FetchReport(target.resolve())
    for symbol in symbols:
        for n in levels:
            name = sample_file_name(symbol, date, n)
            if (target / name).is_file() and _check_sample(target / name, symbol, n) is None:
                report.skipped.append(name)
                continue
            problem = _download(urllib.parse.urljoin(base, name), target / name, symbol, n, timeout)
            if problem is None:
                report.downloaded.append(name)
            else:
                report.failed[name] = problem
    return report


def _download(url: str, path: Path, symbol: str, levels: int, timeout: float) -> str | None:
    """Fetch one zip atomically; None on success, else why the file was refused."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part.zip")  # hidden from discovery
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    shutil.copyfileobj(response, out, 1 << 20)
            except urllib.error.HTTPError as err:  # reached the server; this file is refused
                return f"HTTP {err.code} {err.reason} for {url}"
            except http.client.HTTPException as err:
                return f"download of {url} broke off ({err!r})"
            except OSError as err:  # URLError, DNS failure, refused connection, timeout
                reason = getattr(err, "reason", None) or err
                raise MarsInputError(
                    f"cannot reach {_origin(url)} (offline?): {reason}; copy LOBSTER zips into {path.parent} instead"
                ) from None
        problem = _check_sample(Path(tmp), symbol, levels)
        if problem is None:
            os.replace(tmp, path)
        return problem
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _check_sample(path: Path, symbol: str, levels: int) -> str | None:
    """None when the zip holds a usable dataset of this symbol and depth, else the reason."""
    infos, problems = scan_file(path)
    if problems:
        return "; ".join(problems)
    if not any(i.symbol.upper() == symbol.upper() and i.levels == levels for i in infos):
        held = ", ".join(f"{i.symbol} {i.levels} levels" for i in infos) or "nothing"
        return f"zip holds {held}, not {symbol.upper()} with {levels} levels"
    return None


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
