"""Find the data directory and catalogue the LOBSTER days in it.

A dataset is a message/orderbook pair named `SYMBOL_DATE_START_END_KIND_N.csv`,
either loose (both files in one folder) or inside a `.zip`, at any depth.
Discovery never lets one bad file hide the others: every dataset that cannot
be used becomes a problem message naming the file, and the rest are listed.
Results are cached per file (path, mtime, size), so repeated calls are cheap.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mars_core.data.lobster import (
    LobsterName,
    count_rows_and_columns,
    load_events,
    load_orderbook,
    parse_lobster_name,
    read_source,
    source_label,
)
from mars_core.data.schema import NS_PER_SECOND, DatasetInfo, Events, EventType
from mars_core.errors import DatasetNotFoundError, LobsterFormatError, MarsInputError
from mars_core.paths import DATA_DIR_ENV, data_dir_candidates

# US equities above $1 trade in cents; a coarser gcd only means few distinct prices.
CENT = 100


def resolve_data_dir(flag: str | Path | None = None) -> Path:
    """Pick the data directory.

    Order: the `--data-dir` flag, else `$MARS_DATA_DIR`, else `./data` (if it
    exists), else `../shared/data/lobster` next to the repository, else the
    same relative to the working directory.

    Args:
        flag: the `--data-dir` value, if given.

    Returns:
        The first candidate that exists, resolved.

    Raises:
        MarsInputError: a flag or environment path that does not exist, or no candidate at all.
    """
    for given, origin in ((flag, "--data-dir"), (os.environ.get(DATA_DIR_ENV) or None, f"${DATA_DIR_ENV}")):
        if given is not None:
            path = Path(given).expanduser()
            if not path.is_dir():
                state = "is not a folder" if path.exists() else "does not exist"
                raise MarsInputError(f"data directory {path} (from {origin}) {state}")
            return path.resolve()
    candidates = data_dir_candidates()
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    tried = ", ".join(str(p) for p in candidates)
    raise MarsInputError(
        f"no data directory found (tried {tried}); pass --data-dir, set ${DATA_DIR_ENV}, "
        "or run `mars data fetch-samples`"
    )


def discover_with_problems(data_dir: str | Path | None = None) -> tuple[list[DatasetInfo], list[str]]:
    """Catalogue every LOBSTER day under a directory, and everything that is wrong.

    Args:
        data_dir: where to look; None resolves it with `resolve_data_dir`.

    Returns:
        The usable datasets sorted by (symbol, date, most levels first, path), and
        one message per unusable file (a message file without its orderbook file,
        a corrupt file, a zip without a message member...).
    """
    root = resolve_data_dir(data_dir)
    infos: list[DatasetInfo] = []
    problems: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        names = sorted(f for f in files if not f.startswith("."))
        for name in dirs:
            if _is_lobster_name(name):
                problems.append(f"{Path(folder) / name}: is a folder, not a LOBSTER file")
        for name in names:
            if name.lower().endswith((".zip", ".csv")):
                found, bad = scan_file(Path(folder) / name)
                infos.extend(found)
                problems.extend(bad)
    infos.sort(key=lambda i: (i.symbol, i.date, -i.levels, str(i.message_path), i.message_member or ""))
    return infos, problems


def discover(data_dir: str | Path | None = None) -> list[DatasetInfo]:
    """The usable LOBSTER days under a directory; see `discover_with_problems` for what is skipped."""
    return discover_with_problems(data_dir)[0]


def scan_file(path: str | Path) -> tuple[list[DatasetInfo], list[str]]:
    """Catalogue one `.zip` or one loose message `.csv` (its orderbook must sit next to it)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".zip":
            found, bad = _scan_zip_cached(*_stat_key(path))
        else:
            found, bad = _scan_loose_csv(path)
    except OSError as err:  # vanished or unreadable between listing and reading
        return [], [f"{path}: cannot read ({err.strerror or err})"]
    return list(found), list(bad)


def find_dataset(
    symbol: str, date: str | dt.date, data_dir: str | Path | None = None, levels: int | None = None
) -> DatasetInfo:
    """Look up one day by symbol (any case) and date.

    Args:
        symbol: e.g. "GOOG".
        date: a `datetime.date` or "YYYY-MM-DD".
        data_dir: where to look; None resolves it.
        levels: pick this book depth when a day exists at several; None takes the deepest.

    Raises:
        DatasetNotFoundError: nothing matches; the message lists what is available.
        MarsInputError: the date is not YYYY-MM-DD.
    """
    day = parse_date(date)
    infos, problems = discover_with_problems(data_dir)
    for info in infos:
        if info.symbol.upper() == symbol.upper() and info.date == day and levels in (None, info.levels):
            return info
    wanted = f"{symbol.upper()} {day.isoformat()}" + (f" with {levels} levels" if levels else "")
    # a file of the wanted day that could not be used is the answer, not "nothing found"
    prefix = f"{symbol.upper()}_{day.isoformat()}_"
    own = [p for p in problems if prefix in p.upper()]
    if own:
        raise DatasetNotFoundError(f"{wanted} cannot be used: {'; '.join(own)}")
    if not infos:
        raise DatasetNotFoundError(
            f"no dataset {wanted}: no LOBSTER datasets found in {resolve_data_dir(data_dir)}{unusable(problems)}; "
            "copy LOBSTER zips there or run `mars data fetch-samples`"
        )
    available = ", ".join(f"{i.key} ({i.levels} levels)" for i in infos)
    raise DatasetNotFoundError(f"no dataset {wanted}; available: {available}")


def unusable(problems: Sequence[str], symbols: Iterable[str] = ()) -> str:
    """' (unusable: ...)' naming up to three of the files `discover_with_problems` skipped, those of `symbols` first;
    '' when none was skipped. Appended to a "no day found" message, it names the file, line and problem."""
    prefixes = tuple(f"{s.upper()}_" for s in symbols)
    ranked = sorted(problems, key=lambda p: not any(x in p.upper() for x in prefixes))
    return f" (unusable: {'; '.join(ranked[:3])}{' ...' if len(ranked) > 3 else ''})" if ranked else ""


def parse_date(value: str | dt.date) -> dt.date:
    """A date from a `datetime.date` or "YYYY-MM-DD" text; MarsInputError otherwise."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise MarsInputError(f"date {value!r} is not YYYY-MM-DD") from None


def infer_tick_size(events: Events) -> int:
    """The price grid of submitted orders: gcd of gaps between distinct prices, capped at one cent.

    Taking the gcd with one cent keeps a divisor of it, so a day with few
    distinct prices (all on whole dollars, say) still reports the cent tick.
    """
    prices = np.unique(events.price[(events.type == EventType.SUBMIT) & (events.price > 0)])
    if len(prices) < 2:
        return CENT
    return math.gcd(int(np.gcd.reduce(np.diff(prices))), CENT)


def format_ts(ns: int) -> str:
    """Nanoseconds since midnight as HH:MM:SS.fffffffff."""
    seconds, frac = divmod(int(ns), NS_PER_SECOND)
    minutes, sec = divmod(seconds, 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{sec:02d}.{frac:09d}"


def info_to_dict(info: DatasetInfo) -> dict[str, Any]:
    """A JSON-ready description of a dataset (paths as text, date ISO, readable first/last times)."""
    return {
        "symbol": info.symbol,
        "date": info.date.isoformat(),
        "levels": info.levels,
        "messages": info.messages,
        "ts_start": info.ts_start,
        "ts_end": info.ts_end,
        "first_time": format_ts(info.ts_start),
        "last_time": format_ts(info.ts_end),
        "tick_size": info.tick_size,
        "message_path": str(info.message_path),
        "orderbook_path": str(info.orderbook_path),
        "message_member": info.message_member,
        "orderbook_member": info.orderbook_member,
    }


# ---------------------------------------------------------------- scanning


def _is_lobster_name(name: str) -> bool:
    try:
        return parse_lobster_name(name) is not None
    except LobsterFormatError:
        return True


def _stat_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=1024)
def _scan_zip_cached(path: str, _mtime_ns: int, _size: int) -> tuple[tuple[DatasetInfo, ...], tuple[str, ...]]:
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.namelist()
    except (OSError, zipfile.BadZipFile) as err:
        return (), (f"{path}: not a readable zip file ({err})",)
    infos: list[DatasetInfo] = []
    problems: list[str] = []
    parsed: dict[str, LobsterName] = {}
    for member in members:
        try:
            name = parse_lobster_name(member)
        except LobsterFormatError as err:
            problems.append(f"{path}:{err}")
            continue
        if name is not None:
            parsed[member] = name
    messages = [n for n in parsed.values() if n.kind == "message"]
    if not messages:
        problems.append(f"{path}: zip holds no LOBSTER message file (*_message_N.csv)")
    for name in messages:
        partner = name.partner()
        if partner not in parsed:
            problems.append(f"{source_label(path, name.name)}: no orderbook file {partner} in the zip")
            continue
        _file_into(_describe(name, Path(path), name.name, Path(path), partner), infos, problems)
    for name in parsed.values():
        if name.kind == "orderbook" and name.partner() not in parsed:
            problems.append(
                f"{source_label(path, name.name)}: orderbook file without its message file {name.partner()}"
            )
    return tuple(infos), tuple(problems)


def _scan_loose_csv(path: Path) -> tuple[tuple[DatasetInfo, ...], tuple[str, ...]]:
    try:
        name = parse_lobster_name(path.name)
    except LobsterFormatError as err:
        return (), (f"{path}: {err.problem}",)
    if name is None:
        return (), ()
    partner = path.with_name(name.partner())
    if name.kind == "orderbook":  # catalogued from its message file
        return (), (() if partner.exists() else (f"{path}: orderbook file without its message file {partner.name}",))
    if not partner.exists():
        return (), (f"{path}: no orderbook file {partner.name} next to it",)
    return _scan_csv_pair_cached(*_stat_key(path), *_stat_key(partner))


@functools.lru_cache(maxsize=1024)
def _scan_csv_pair_cached(
    message: str, _m_mtime: int, _m_size: int, orderbook: str, _o_mtime: int, _o_size: int
) -> tuple[tuple[DatasetInfo, ...], tuple[str, ...]]:
    name = parse_lobster_name(Path(message).name)
    assert name is not None  # the caller matched the name
    found = _describe(name, Path(message), None, Path(orderbook), None)
    return ((found,), ()) if isinstance(found, DatasetInfo) else ((), (found,))


def _file_into(found: DatasetInfo | str, infos: list[DatasetInfo], problems: list[str]) -> None:
    (infos if isinstance(found, DatasetInfo) else problems).append(found)


def _describe(
    name: LobsterName,
    message_path: Path,
    message_member: str | None,
    orderbook_path: Path,
    orderbook_member: str | None,
) -> DatasetInfo | str:
    """Check one pair (full message parse, orderbook shape): the dataset, or what is wrong with it."""
    try:
        events = load_events(message_path, message_member)
        rows, columns = count_rows_and_columns(read_source(orderbook_path, orderbook_member))
        where = source_label(orderbook_path, orderbook_member)
        if rows == 0:
            raise LobsterFormatError(where, None, "file is empty")
        if columns != 4 * name.levels:
            expected = f"expected {4 * name.levels} (4 x {name.levels} levels from the file name)"
            raise LobsterFormatError(where, 1, f"{columns} columns; {expected}")
        if rows != len(events):
            problem = f"orderbook has {rows} rows but the message file has {len(events)}"
            raise LobsterFormatError(where, min(rows, len(events)) + 1, problem)
        load_orderbook(orderbook_path, name.levels, orderbook_member)  # every row: numbers, sizes not negative
    except LobsterFormatError as err:
        return str(err)
    return DatasetInfo(
        symbol=name.symbol,
        date=name.date,
        levels=name.levels,
        messages=len(events),
        ts_start=int(events.ts[0]),
        ts_end=int(events.ts[-1]),
        tick_size=infer_tick_size(events),
        message_path=message_path,
        orderbook_path=orderbook_path,
        message_member=message_member,
        orderbook_member=orderbook_member,
    )
