"""Read and validate LOBSTER message and orderbook files, loose or inside zips.

Invariants of a day returned by `load_day` (when validated):
- message times never decrease, lie inside the day, and are exact to the
  nanosecond (parsed as decimals, never through float64); the rare time with
  more than 9 decimals (a float artifact in LOBSTER's own files, e.g.
  43002.632812672004) is rounded to the nearest nanosecond;
- event types are 1..7, directions are 1 or -1, sizes are positive (a type 7
  halt message carries size 0), prices are positive except on halts;
- the orderbook has 4 x levels columns, no negative sizes, and exactly one
  row per message.

Any violation raises `LobsterFormatError` naming the file (`zip:member` for a
zipped file), the first bad 1-based line and what is wrong. Checks are
vectorised; only a file that fails the typed parse is re-read as text to
locate the bad line. Loaded arrays are cached in-process (keyed by path,
mtime and size) and therefore read-only: copy before modifying.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from mars_core.data.schema import EVENT_FIELDS, NS_PER_SECOND, DatasetInfo, Events, EventType, LobsterDay
from mars_core.errors import LobsterFormatError

MESSAGE_COLUMNS = ("time", "event type", "order id", "size", "price", "direction")
_NAME_RE = re.compile(
    r"^(?P<symbol>.+?)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)_"
    r"(?P<kind>message|orderbook)_(?P<levels>\d+)\.csv$",
    re.IGNORECASE,
)
# What LOBSTER writes: seconds after midnight, normally with up to 9 decimals.
_TIME_RE = re.compile(r"[0-9]{1,9}(\.[0-9]+)?")
_NS_TIME_RE = r"^[0-9]{1,9}(\.[0-9]{1,9})?$"
# 18 digits always fit int64; arrow's int parser also tolerates surrounding spaces.
_INT_RE = r"^ *-?[0-9]{1,18} *$"
_DAY_NS = 86_400 * NS_PER_SECOND
_PARSE = pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False)


@dataclass(frozen=True, slots=True)
class LobsterName:
    """The parts of a LOBSTER file name `SYMBOL_DATE_START_END_KIND_LEVELS.csv`."""

    name: str  # as given, may include folders (zip members)
    symbol: str
    date: dt.date
    kind: str  # "message" or "orderbook"
    levels: int
    _kind_span: tuple[int, int]

    def partner(self) -> str:
        """The name of the matching file of the other kind (same folder, same levels)."""
        other = "orderbook" if self.kind == "message" else "message"
        return self.name[: self._kind_span[0]] + other + self.name[self._kind_span[1] :]


def parse_lobster_name(name: str) -> LobsterName | None:
    """Split a LOBSTER file name into its parts.

    Args:
        name: a file name or zip member name; folders are allowed.

    Returns:
        The parts, or None when the name is not a LOBSTER data file name.

    Raises:
        LobsterFormatError: the name has LOBSTER's shape but an impossible date or 0 levels.
    """
    base_start = max(name.rfind("/"), name.rfind("\\")) + 1
    match = _NAME_RE.match(name[base_start:])
    if match is None:
        return None
    try:
        date = dt.date.fromisoformat(match["date"])
    except ValueError:
        raise LobsterFormatError(name, None, f"the file name's date {match['date']} is not a calendar date") from None
    levels = int(match["levels"])
    if levels < 1:
        raise LobsterFormatError(name, None, "the file name says 0 book levels")
    span = (base_start + match.start("kind"), base_start + match.end("kind"))
    return LobsterName(name, match["symbol"], date, match["kind"].lower(), levels, span)


def source_label(path: Path | str, member: str | None = None) -> str:
    """How errors name a file: the path, or `zip:member` for a zipped file."""
    return f"{path}:{member}" if member else str(path)


def source_exists(path: Path | str, member: str | None = None) -> bool:
    """Whether a loose file, or a member inside a readable zip, exists."""
    path = Path(path)
    if member is None:
        return path.is_file()
    try:
        with zipfile.ZipFile(path) as zf:
            return member in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def read_source(path: Path | str, member: str | None = None) -> bytes:
    """Read a loose file, or one member of a zip without extracting it to disk.

    Raises:
        LobsterFormatError: the file or member is missing or the zip is unreadable.
    """
    path = Path(path)
    try:
        if member is None:
            return path.read_bytes()
        with zipfile.ZipFile(path) as zf:
            return zf.read(member)
    except FileNotFoundError:
        raise LobsterFormatError(str(path), None, "file does not exist") from None
    except KeyError:
        raise LobsterFormatError(str(path), None, f"zip has no member {member}") from None
    except (zipfile.BadZipFile, zlib.error) as err:
        raise LobsterFormatError(source_label(path, member), None, f"corrupt zip data ({err})") from None
    except OSError as err:
        raise LobsterFormatError(str(path), None, f"cannot read file ({err.strerror or err})") from None


def zip_members(path: Path | str, kind: str, levels: int | None = None) -> list[str]:
    """Names of the LOBSTER members of one kind ("message"/"orderbook") inside a zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (OSError, zipfile.BadZipFile) as err:
        raise LobsterFormatError(str(path), None, f"not a readable zip file ({err})") from None
    found = []
    for name in names:
        parsed = parse_lobster_name(name)
        if parsed and parsed.kind == kind and (levels is None or parsed.levels == levels):
            found.append(name)
    return found


def count_rows_and_columns(data: bytes) -> tuple[int, int]:
    """Row count and the first row's column count of a headerless CSV, without parsing it."""
    end = _content_end(data)
    if end == 0:
        return 0, 0
    first_end = data.find(b"\n", 0, end)
    first_end = end if first_end < 0 else first_end
    return data.count(b"\n", 0, end) + 1, data.count(b",", 0, first_end) + 1


def _content_end(data: bytes) -> int:
    """Length without trailing blank lines (harmless at the end; inside a file they are an error)."""
    end = len(data)
    while end and data[end - 1] in b"\r\n \t":  # walks only the few trailing bytes, no copy
        end -= 1
    return end


def _file_key(path: Path | str) -> tuple[str, int, int]:
    path = Path(path).resolve()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise LobsterFormatError(str(path), None, "file does not exist") from None
    return str(path), stat.st_mtime_ns, stat.st_size


def _single_member(path: Path | str, kind: str, levels: int | None = None) -> str:
    members = zip_members(path, kind, levels)
    if len(members) == 1:
        return members[0]
    pattern = f"*_{kind}_{levels if levels else 'N'}.csv"
    if not members:
        raise LobsterFormatError(str(path), None, f"zip holds no LOBSTER {kind} file ({pattern})")
    raise LobsterFormatError(
        str(path), None, f"zip holds several {kind} files ({', '.join(members)}); name one as member"
    )


# ---------------------------------------------------------------- parsing


def _read_table(data: bytes, where: str, names: tuple[str, ...], time_first: bool) -> pa.Table:
    """Typed parse of a headerless CSV; on failure, locate the first bad line."""
    end = _content_end(data)
    if end == 0:
        raise LobsterFormatError(where, None, "file is empty")
    buffer = pa.py_buffer(data).slice(0, end)  # zero-copy
    keys = [f"c{i}" for i in range(len(names))]
    types = {key: pa.int64() for key in keys}
    if time_first:  # kept as text so it can be parsed as an exact decimal
        types[keys[0]] = pa.string()
    try:
        return pacsv.read_csv(
            buffer,
            read_options=pacsv.ReadOptions(column_names=keys),
            parse_options=_PARSE,
            convert_options=pacsv.ConvertOptions(column_types=types, null_values=[], strings_can_be_null=False),
        )
    except pa.ArrowInvalid as err:
        raise _locate_parse_error(buffer, where, names, time_first, err) from None


def _locate_parse_error(
    data: pa.Buffer, where: str, names: tuple[str, ...], time_first: bool, cause: Exception
) -> LobsterFormatError:
    """Re-read every field as text to find the first line with a wrong shape or a non-number."""
    bad_rows: list[pacsv.InvalidRow] = []

    def remember(row: pacsv.InvalidRow) -> str:
        bad_rows.append(row)
        return "skip"

    keys = [f"c{i}" for i in range(len(names))]
    raw = data.to_pybytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:  # arrow hands a malformed row to the handler as text: make junk decodable first
        data = pa.py_buffer(raw.decode("utf-8", errors="replace").encode())  # lines and commas stay where they were
    try:
        table = pacsv.read_csv(
            data,
            # Single-threaded so that the handler sees physical line numbers.
            read_options=pacsv.ReadOptions(column_names=keys, use_threads=False),
            parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False, invalid_row_handler=remember),
            # Bytes, not text: a line of binary junk must be reported, not crash the decoder.
            convert_options=pacsv.ConvertOptions(
                column_types={k: pa.binary() for k in keys}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:  # a malformed row arrow cannot even hand over (binary junk): count columns by hand
        return _first_bad_shape(data.to_pybytes(), where, len(names), cause)
    shape_line = bad_rows[0].number if bad_rows and bad_rows[0].number else None
    field = _first_bad_field(table, names, time_first)
    # Rows before the first skipped row keep index == line - 1, which is all we compare.
    if field is not None and (shape_line is None or field[0] + 1 < shape_line):
        index, column, value = field
        if all(table.column(c)[index].as_py() == b"" for c in range(len(names))):
            return LobsterFormatError(where, index + 1, "empty line")
        return _field_error(where, index, column, names[column], value, time_first and column == 0)
    if shape_line is not None:
        row = bad_rows[0]
        return LobsterFormatError(
            where, shape_line, f"expected {row.expected_columns} comma-separated columns, found {row.actual_columns}"
        )
    return LobsterFormatError(where, None, f"cannot parse as CSV: {cause}")


def _first_bad_shape(data: bytes, where: str, columns: int, cause: Exception) -> LobsterFormatError:
    """The first line (split as the CSV reader splits them) without `columns` comma-separated fields."""
    for number, line in enumerate(re.split(rb"\r\n|\n|\r", data), start=1):
        found = line.count(b",") + 1
        if found != columns:
            return LobsterFormatError(where, number, f"expected {columns} comma-separated columns, found {found}")
    return LobsterFormatError(where, None, f"cannot parse as CSV: {cause}")


def _first_bad_field(table: pa.Table, names: tuple[str, ...], time_first: bool) -> tuple[int, int, str] | None:
    """(row index, column, text) of the earliest field that is not a valid number; fields are bytes."""
    best: tuple[int, int, str] | None = None
    for column in range(len(names)):
        values = table.column(column).combine_chunks()
        index = _first_mismatch(values, f"^{_TIME_RE.pattern}$" if time_first and column == 0 else _INT_RE)
        if index is not None and (best is None or index < best[0]):
            best = (index, column, values[index].as_py().decode("utf-8", errors="replace"))
    return best


def _first_mismatch(values: pa.Array, pattern: str) -> int | None:
    ok = pc.match_substring_regex(values, pattern).to_numpy(zero_copy_only=False)
    return _first_true(~ok)


def _first_true(mask: np.ndarray) -> int | None:
    return int(np.argmax(mask)) if mask.any() else None


def _field_error(where: str, index: int, column: int, name: str, value: str, is_time: bool) -> LobsterFormatError:
    label = f"column {column + 1} ({name})"
    if value.strip() == "":
        return LobsterFormatError(where, index + 1, f"{label} is empty")
    kind = "seconds after midnight" if is_time else "an integer"
    return LobsterFormatError(where, index + 1, f"{label} is {value!r}, not {kind}")


def _parse_time_ns(values: pa.Array, where: str) -> np.ndarray:
    """Seconds-after-midnight text to int64 ns, exactly: decimal(18, 9) keeps every digit."""
    exact = pc.match_substring_regex(values, _NS_TIME_RE)
    finer = np.flatnonzero(~exact.to_numpy(zero_copy_only=False))  # normally empty
    texts = values.take(pa.array(finer, type=pa.int64())).to_pylist()
    for i, text in zip(finer, texts):
        if not _TIME_RE.fullmatch(text):
            raise _field_error(where, int(i), 0, MESSAGE_COLUMNS[0], text, True)
    if len(finer):
        values = pc.if_else(exact, values, "0")  # placeholders, filled in below
    decimals = pc.cast(values, pa.decimal128(18, 9))
    # The unscaled decimal is the ns count; its low 64-bit word is exact below 10**18.
    words = np.frombuffer(decimals.buffers()[1], dtype=np.int64).reshape(-1, 2)
    ts = words[decimals.offset : decimals.offset + len(decimals), 0].copy()
    # LOBSTER files occasionally hold a float artifact such as 43002.632812672004;
    # those few rows are rounded to the nearest ns.
    for i, text in zip(finer, texts):
        seconds, frac = text.split(".")
        ts[i] = int(seconds) * NS_PER_SECOND + int(frac[:9]) + (frac[9] >= "5")
    return ts


def parse_messages(data: bytes, where: str, validate: bool = True) -> Events:
    """Parse the bytes of a LOBSTER message file (6 columns, no header).

    Args:
        data: the file's content.
        where: the name used in errors (path or `zip:member`).
        validate: run the semantic checks of `validate_events`.

    Raises:
        LobsterFormatError: naming the first bad line.
    """
    table = _read_table(data, where, MESSAGE_COLUMNS, time_first=True)
    ts = _parse_time_ns(table.column(0).combine_chunks(), where)
    kind, order_id, size, price, side = (table.column(i).to_numpy() for i in range(1, 6))
    if validate:
        validate_events(ts, kind, order_id, size, price, side, where)
    return Events(ts, kind.astype(np.int8), order_id, size, price, side.astype(np.int8))


def validate_events(
    ts: np.ndarray,
    kind: np.ndarray,
    order_id: np.ndarray,
    size: np.ndarray,
    price: np.ndarray,
    side: np.ndarray,
    where: str,
) -> None:
    """Check message columns against the LOBSTER format; raise on the first bad line.

    Halt messages (type 7) carry size 0 and price -1/0/1; hidden executions and
    cross trades (types 5, 6) may carry order id 0: both are valid.

    Raises:
        LobsterFormatError: the earliest line that breaks any rule.
    """
    halt = kind == EventType.HALT
    decreasing = np.zeros(len(ts), dtype=bool)
    decreasing[1:] = ts[1:] < ts[:-1]
    checks: list[tuple[np.ndarray, Callable[[int], str]]] = [
        (
            decreasing,
            lambda i: f"time {_seconds(ts[i])} is earlier than the previous line's {_seconds(ts[i - 1])}; "
            "times must not decrease",
        ),
        (ts >= _DAY_NS, lambda i: f"time {_seconds(ts[i])} is past the end of the day (86400 s)"),
        ((kind < 1) | (kind > 7), lambda i: f"column 2 (event type) is {kind[i]}; must be 1..7"),
        (order_id < 0, lambda i: f"column 3 (order id) is {order_id[i]}; must not be negative"),
        ((size < 0) | ((size == 0) & ~halt), lambda i: f"column 4 (size) is {size[i]}; must be positive"),
        ((price <= 0) & ~halt, lambda i: f"column 5 (price) is {price[i]}; must be positive"),
        ((side != 1) & (side != -1), lambda i: f"column 6 (direction) is {side[i]}; must be 1 (buy) or -1 (sell)"),
    ]
    _raise_first(checks, where)


def _raise_first(checks: list[tuple[np.ndarray, Callable[[int], str]]], where: str) -> None:
    found = [(i, describe) for mask, describe in checks if (i := _first_true(mask)) is not None]
    if found:
        index, describe = min(found, key=lambda item: item[0])
        raise LobsterFormatError(where, index + 1, describe(index))


def _seconds(ns: int) -> str:
    whole, frac = divmod(int(ns), NS_PER_SECOND)
    return f"{whole}.{frac:09d}".rstrip("0").rstrip(".")


def orderbook_columns(levels: int) -> tuple[str, ...]:
    """LOBSTER's orderbook column names for a book of `levels` levels."""
    fields = ("ask price", "ask size", "bid price", "bid size")
    return tuple(f"{field} {level}" for level in range(1, levels + 1) for field in fields)


def parse_orderbook(data: bytes, where: str, levels: int, validate: bool = True) -> np.ndarray:
    """Parse the bytes of a LOBSTER orderbook file (4 x levels columns, no header).

    Returns:
        int64 array of shape (rows, 4 * levels) in LOBSTER column order.

    Raises:
        LobsterFormatError: naming the first bad line (wrong column count, non-number, negative size).
    """
    names = orderbook_columns(levels)
    table = _read_table(data, where, names, time_first=False)
    book = np.empty((table.num_rows, len(names)), dtype=np.int64)  # (M, 4N)
    for j in range(len(names)):
        book[:, j] = table.column(j).to_numpy()
    if validate:
        sizes = np.concatenate([book[:, 1::4], book[:, 3::4]], axis=1)  # (M, 2N): ask sizes, then bid sizes
        negative = sizes < 0
        row = _first_true(negative.any(axis=1))
        if row is not None:
            k = int(np.argmax(negative[row]))
            column = 4 * (k % levels) + (1 if k < levels else 3)
            problem = f"column {column + 1} ({names[column]}) is {book[row, column]}; sizes must not be negative"
            raise LobsterFormatError(where, row + 1, problem)
    return book


# ---------------------------------------------------------------- loading


def load_events(path: Path | str, member: str | None = None, *, validate: bool = True) -> Events:
    """Load a LOBSTER message file (loose `.csv`, or a member of a `.zip`).

    Args:
        path: the message CSV, or the zip holding it.
        member: name inside the zip; None picks the zip's only message file.
        validate: run the semantic checks (see `validate_events`).

    Returns:
        Read-only columnar events (cached per path, mtime and size).

    Raises:
        LobsterFormatError: naming the file, the first bad line and the problem.
    """
    if member is None and str(path).lower().endswith(".zip"):
        member = _single_member(path, "message")
    return _cached_events(*_file_key(path), member, validate)


def load_orderbook(path: Path | str, levels: int, member: str | None = None, *, validate: bool = True) -> np.ndarray:
    """Load a LOBSTER orderbook file (loose `.csv`, or a member of a `.zip`).

    Args:
        path: the orderbook CSV, or the zip holding it.
        levels: book levels N; the file must have 4N columns.
        member: name inside the zip; None picks the zip's only N-level orderbook file.
        validate: reject negative sizes.

    Returns:
        Read-only int64 array of shape (rows, 4 * levels), cached per path, mtime and size.

    Raises:
        LobsterFormatError: naming the file, the first bad line and the problem.
    """
    if member is None and str(path).lower().endswith(".zip"):
        member = _single_member(path, "orderbook", levels)
    return _cached_orderbook(*_file_key(path), member, levels, validate)


def load_day(info: DatasetInfo, validate: bool = True) -> LobsterDay:
    """Load a catalogued day: its events and LOBSTER's book after each message.

    Args:
        info: from `discover` / `find_dataset`.
        validate: run the format checks (cheap; off only for trusted files).

    Returns:
        The day, with read-only arrays shared with the in-process cache.

    Raises:
        LobsterFormatError: a bad line, a missing orderbook file or mismatched row counts.
    """
    message = source_label(info.message_path, info.message_member)
    orderbook = source_label(info.orderbook_path, info.orderbook_member)
    if not source_exists(info.orderbook_path, info.orderbook_member):
        raise LobsterFormatError(message, None, f"message file has no orderbook file; expected {orderbook}")
    events = load_events(info.message_path, info.message_member, validate=validate)
    book = load_orderbook(info.orderbook_path, info.levels, info.orderbook_member, validate=validate)
    if len(book) != len(events):
        raise LobsterFormatError(
            orderbook,
            min(len(book), len(events)) + 1,
            f"orderbook has {len(book)} rows but the message file has {len(events)}; they must match line for line",
        )
    return LobsterDay(info, events, book)


@functools.lru_cache(maxsize=16)
def _cached_events(path: str, _mtime_ns: int, _size: int, member: str | None, validate: bool) -> Events:
    events = parse_messages(read_source(path, member), source_label(path, member), validate)
    for name in EVENT_FIELDS:
        getattr(events, name).flags.writeable = False  # shared by every caller of the cache
    return events


@functools.lru_cache(maxsize=4)  # a 10-level day is ~50 MB
def _cached_orderbook(
    path: str, _mtime_ns: int, _size: int, member: str | None, levels: int, validate: bool
) -> np.ndarray:
    book = parse_orderbook(read_source(path, member), source_label(path, member), levels, validate)
    book.flags.writeable = False  # shared by every caller of the cache
    return book
