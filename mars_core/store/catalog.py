"""DuckDB across runs: one view per table over every run directory under a root."""

from __future__ import annotations

from pathlib import Path

import duckdb

from mars_core.paths import runs_root
from mars_core.store.rundir import TABLES


def catalog(root: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per table over every run under `root`.

    Each view has the table's columns plus `run` (the run directory's path
    relative to `root`; default: the runs root), `rollout` and `arm`. Example:
        catalog().sql("select run, arm, sum(qty) from trades group by all")
    """
    root = runs_root() if root is None else Path(root)
    con = duckdb.connect()
    for name in TABLES:
        files = sorted(str(p) for p in root.glob(f"**/rollout=*/arm=*/{name}.parquet"))
        if not files:
            continue
        file_list = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
        prefix = len(str(root)) + 1
        con.sql(
            f"""create view {name} as
            select regexp_replace(substr(filename, {prefix + 1}), '/rollout=.*$', '') as run,
                   cast(regexp_extract(filename, 'rollout=(\\d+)', 1) as integer) as rollout,
                   regexp_extract(filename, 'arm=([a-z]+)', 1) as arm,
                   * exclude (filename)
            from read_parquet({file_list}, filename = true, union_by_name = true, hive_partitioning = false)"""
        )
    return con
