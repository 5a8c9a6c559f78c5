"""The results store: run directories, their identity and reuse, listing, per-arm reads, DuckDB and export.

run = RunDir.create(path, config)        # or RunDir.open(path) for an existing run
run.read(rollout, "treated", "book", columns=["ts", "bid_price_1"])
catalog().sql("select run, arm, sum(qty) from trades group by all")
"""

from mars_core.store.catalog import catalog
from mars_core.store.export import export_lobster, export_parquet_zip, lobster_zip_bytes, run_zip_bytes
from mars_core.store.identity import config_hash, named_dir, normalized, stamped_dir
from mars_core.store.listing import Listed, list_runs, scan
from mars_core.store.rundir import TABLES, ArmWriter, RunDir, claim_directory, finished_arms, write_json

__all__ = [
    "TABLES",
    "ArmWriter",
    "Listed",
    "RunDir",
    "catalog",
    "claim_directory",
    "config_hash",
    "export_lobster",
    "export_parquet_zip",
    "finished_arms",
    "list_runs",
    "lobster_zip_bytes",
    "named_dir",
    "normalized",
    "run_zip_bytes",
    "scan",
    "stamped_dir",
    "write_json",
]
