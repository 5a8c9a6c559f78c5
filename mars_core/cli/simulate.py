"""`mars simulate` and `mars export`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from mars_core.cli.options import DataDirOption, ExecutorOption, JsonOption, RayAddressOption, emit, executor_of
from mars_core.data import find_dataset, resolve_data_dir
from mars_core.errors import ConfigError, MarsInputError
from mars_core.sim.agents.injected import InjectedOrders, read_orders_file
from mars_core.sim.agents.twap import TWAPConfig
from mars_core.sim.config import SimConfig
from mars_core.sim.runner import run_simulation
from mars_core.sim.runs import simulation_dir
from mars_core.store import RunDir, export_lobster, export_parquet_zip
from mars_core.store.export import MAX_EXPORT_LEVELS

TWAP_KEYS = {"side", "volume", "pvr", "ap", "duration", "interval", "aggressive"}


def parse_twap(spec: str) -> TWAPConfig:
    """'side=buy,volume=2000,pvr=0.9,ap=1[,duration=300,interval=30]' -> TWAPConfig."""
    fields: dict[str, object] = {}
    seen: set[str] = set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in TWAP_KEYS:
            raise ConfigError(
                f"--twap {spec!r}: {part!r} is not key=value with a key among {', '.join(sorted(TWAP_KEYS))}"
            )
        if key in seen:
            raise ConfigError(f"--twap {spec!r}: {key} is given twice")
        seen.add(key)
        value = value.strip()
        if key == "side":
            if value.lower() not in ("buy", "sell"):
                raise ConfigError(f"--twap {spec!r}: side must be buy or sell, was {value!r}")
            fields["side"] = 1 if value.lower() == "buy" else -1
        else:
            fields[{"duration": "duration_s", "interval": "interval_s", "aggressive": "aggressive_s"}.get(key, key)] = (
                value
            )
    return TWAPConfig.from_dict(fields, where=f"--twap {spec!r}")


def simulate(
    symbol: Annotated[str, typer.Option(help="Ticker, e.g. GOOG.")],
    date: Annotated[str, typer.Option(help="Trading date, YYYY-MM-DD.")],
    start: Annotated[str, typer.Option(help="Start time HH:MM[:SS].")] = "10:00",
    minutes: Annotated[float, typer.Option(help="Simulated minutes.")] = 5.0,
    rollouts: Annotated[int, typer.Option(help="Independent rollouts.")] = 8,
    background: Annotated[str, typer.Option(help="replay, noise or lmm.")] = "noise",
    seed: Annotated[int, typer.Option(help="Run seed.")] = 0,
    inject: Annotated[
        Path | None, typer.Option(help="CSV of injected orders (time,action,side,price,qty,client_id).")
    ] = None,
    twap: Annotated[
        list[str] | None, typer.Option(help="TWAP agent: side=buy,volume=2000,pvr=0.9,ap=1 (repeatable).")
    ] = None,
    paired: Annotated[
        bool, typer.Option("--paired/--unpaired", help="Also run each rollout without the agents.")
    ] = True,
    snapshot_interval_ms: Annotated[int, typer.Option(help="Book snapshot interval; 0 = every event.")] = 1000,
    workers: Annotated[int | None, typer.Option(min=1, help="Parallel processes (default: all cores).")] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="When another run is writing into --out, wait for it instead of refusing.")
    ] = False,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Run directory, resumed if it holds the same configuration (default: the one the Simulate page uses, "
            "<runs root>/<time>-<SYMBOL>-<config hash>, reused when it holds the same configuration)."
        ),
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Simulate N futures from a moment of a real trading day."""

    info = find_dataset(symbol, date, resolve_data_dir(data_dir))
    inject_csv = None
    if inject is not None:
        inject_csv = read_orders_file(inject)
        InjectedOrders.from_text(inject_csv, info.tick_size, where=str(inject))  # errors name the file and the row
    config = SimConfig.from_dict(
        {
            "symbol": symbol,
            "date": date,
            "start": start,
            "minutes": minutes,
            "rollouts": rollouts,
            "background": background,
            "seed": seed,
            "twap": [parse_twap(t) for t in twap or []],
            "inject_csv": inject_csv,
            "paired": paired,
            "snapshot_interval_ms": snapshot_interval_ms,
        }
    )
    with tqdm(total=rollouts * len(config.arms), desc="rollouts", unit="arm", disable=as_json) as bar:

        def progress(done: int, total: int, summary: dict) -> None:
            bar.n = done
            bar.refresh()

        summary = run_simulation(
            config,
            out if out is not None else simulation_dir(config)[0],
            data_dir,
            workers,
            progress,
            wait=wait,
            executor=executor_of(executor, ray_address),
        )
    result = summary.to_dict()
    human = (
        f"{summary.arms} rollout arms ({rollouts} rollouts) of {config.symbol} {config.date} {config.start} "
        f"+{config.minutes:g} min, background {config.background}: {summary.orders:,} orders, "
        f"{summary.trades:,} trades in {summary.seconds:.2f}s ({summary.orders_per_s:,.0f} orders/s) -> {summary.run_dir}"
    )
    emit(result, as_json, human)


def export(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    rollout: Annotated[int, typer.Option(help="Rollout index.")] = 0,
    arm: Annotated[str | None, typer.Option(help="treated, baseline or main (default: the first present).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="lobster or parquet (zip).")] = "lobster",
    levels: Annotated[
        int, typer.Option(min=1, max=MAX_EXPORT_LEVELS, help="Book levels of the LOBSTER orderbook file.")
    ] = 10,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("export"),
    as_json: JsonOption = False,
) -> None:
    """Export one rollout as LOBSTER message + orderbook CSV files (or a zip of its Parquet tables)."""

    run = RunDir.open(run_dir)
    if fmt == "lobster":
        paths = export_lobster(run, rollout, arm, out, levels)
    elif fmt == "parquet":
        paths = [export_parquet_zip(run, rollout, arm, out)]
    else:
        raise MarsInputError(f"--format {fmt!r}: choose lobster or parquet")
    emit({"files": [str(p) for p in paths]}, as_json, "\n".join(f"wrote {p}" for p in paths))
