"""The data layer: LOBSTER reading and validation, the dataset catalogue, minute bars, sample fetching."""

from mars_core.data.bars import BAR_COLUMNS, minute_bars
from mars_core.data.catalog import (
    discover,
    discover_with_problems,
    find_dataset,
    format_ts,
    infer_tick_size,
    info_to_dict,
    resolve_data_dir,
    scan_file,
    unusable,
)
from mars_core.data.fetch import fetch_samples
from mars_core.data.lobster import load_day, load_events, load_orderbook, parse_lobster_name
from mars_core.data.schema import DatasetInfo, Events, EventType, LobsterDay, Side

__all__ = [
    "BAR_COLUMNS",
    "DatasetInfo",
    "EventType",
    "Events",
    "LobsterDay",
    "Side",
    "discover",
    "discover_with_problems",
    "fetch_samples",
    "find_dataset",
    "format_ts",
    "infer_tick_size",
    "info_to_dict",
    "load_day",
    "load_events",
    "load_orderbook",
    "minute_bars",
    "parse_lobster_name",
    "resolve_data_dir",
    "scan_file",
    "unusable",
]
