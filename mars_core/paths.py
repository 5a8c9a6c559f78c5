"""Every default location of MarS and the environment variables that move them, in one place.

Nothing here reads or writes: these are names and paths, and the modules that use them check
them (a missing data folder, an absent checkpoint) with messages of their own.

Locations:
    assets/models/<name>/   the shipped checkpoints (order model, VQ-VAE, order-batch model, ensemble)
    assets/calibration/     fitted noise traders, one JSON file per symbol and day
    assets/studies/         study files (`mars impact --config`)
    runs/                   runs, studies and evaluations: `$MARS_RUNS_DIR`, else `runs/` in the repository
    data                    `--data-dir`, else `$MARS_DATA_DIR`, else `./data`, else `../shared/data/lobster`
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout (the package is installed in editable mode)
ASSETS_DIR = REPO_ROOT / "assets"
MODELS_DIR = ASSETS_DIR / "models"
ORDER_MODEL_DIR = MODELS_DIR / "order_model"
VQVAE_DIR = MODELS_DIR / "vqvae"
BATCH_MODEL_DIR = MODELS_DIR / "batch_model"
ENSEMBLE_DIR = MODELS_DIR / "ensemble"
DEEPLOB_DIR = MODELS_DIR / "deeplob"
FORECAST_SCOREBOARD = ASSETS_DIR / "forecast" / "scoreboard.json"  # the held-out `mars forecast evaluate` result
DETECTION_EVALUATION = ASSETS_DIR / "detection" / "summary.json"  # the held-out `mars detect evaluate` result
CALIBRATION_DIR = ASSETS_DIR / "calibration"
STUDIES_DIR = ASSETS_DIR / "studies"

DATA_DIR_ENV = "MARS_DATA_DIR"
LOCAL_DATA_DIR = Path("data")  # relative to the working directory
SHARED_DATA_DIRS = (REPO_ROOT / ".." / "shared" / "data" / "lobster", Path("..") / "shared" / "data" / "lobster")
SAMPLES_URL_ENV = "MARS_SAMPLES_URL"

RUNS_ENV = "MARS_RUNS_DIR"
CHROMIUM_ENV = "MARS_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
LLM_KEY_ENV = "MARS_LLM_API_KEY"  # API key of the language model that may parse scenario prompts


def runs_root() -> Path:
    """Where runs, studies and evaluations are written and found: `$MARS_RUNS_DIR`, else `runs/` in the repository."""
    env = os.environ.get(RUNS_ENV)
    return Path(env).expanduser() if env else REPO_ROOT / "runs"


def data_dir_candidates() -> list[Path]:
    """The folders tried, in order, when neither `--data-dir` nor `$MARS_DATA_DIR` names one."""
    return [LOCAL_DATA_DIR, *SHARED_DATA_DIRS]
