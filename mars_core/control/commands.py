"""`mars train ensemble`, `mars control-eval`, `mars scenario` and `mars bench control`."""

from __future__ import annotations

from typing import Annotated

import typer

from mars_core.cli import DataDirOption, JsonOption, emit
from mars_core.model.commands import SymbolsOption, ThreadsOption, _symbols, _threads, train_app

ExtraSymbols = Annotated[list[str] | None, typer.Argument(help="More symbols after --symbols.", show_default=False)]


def train_ensemble_command(
    out: Annotated[str, typer.Option("--out", help="Output folder (ensemble.pt, metrics.jsonl, model_card.md).")],
    symbols: SymbolsOption = ["GOOG", "AMZN"],  # noqa: B006 (typer needs a list default)
    extra: ExtraSymbols = None,
    order_model: Annotated[
        str | None, typer.Option("--order-model", help="Frozen order model (default: the shipped one).")
    ] = None,
    vqvae: Annotated[
        str | None, typer.Option("--vqvae", help="VQ-VAE of the images (default: the shipped one).")
    ] = None,
    batch_model: Annotated[
        str | None,
        typer.Option(
            "--batch-model", help="Order-batch model of the sampled-image evaluation (default: the shipped one)."
        ),
    ] = None,
    width: Annotated[int, typer.Option("--width", help="Ensemble width.")] = 48,
    steps: Annotated[int, typer.Option("--steps", help="Optimisation steps.")] = 1500,
    minutes_per_batch: Annotated[int, typer.Option("--minutes-per-batch", help="Training minutes per step.")] = 32,
    per_minute: Annotated[int, typer.Option("--per-minute", help="Orders per minute per step.")] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate.")] = 3e-3,
    dropout: Annotated[float, typer.Option("--dropout", help="Dropout while training.")] = 0.1,
    eval_every: Annotated[int, typer.Option("--eval-every", help="Steps between validation evaluations.")] = 250,
    sampled_eval: Annotated[
        bool,
        typer.Option("--sampled-eval/--no-sampled-eval", help="Also score with images drawn by the order-batch model."),
    ] = True,
    seed: Annotated[int, typer.Option("--seed", help="Seed of batches, dropout and initialisation.")] = 0,
    threads: ThreadsOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the ensemble model (CPU; the order model stays frozen): orders before 14:30 train, from 14:30 validate;
    reports the loss advantage over the order model alone (paper Fig. 14)."""
    from mars_core.model.ensemble_train import EnsembleTrainConfig, train_ensemble

    _threads(threads)
    cfg = EnsembleTrainConfig(
        symbols=_symbols(symbols + (extra or [])),
        order_model=order_model,
        vqvae=vqvae,
        batch_model=batch_model,
        width=width,
        steps=steps,
        minutes_per_batch=minutes_per_batch,
        per_minute=per_minute,
        lr=lr,
        dropout=dropout,
        eval_every=eval_every,
        sampled_eval=sampled_eval,
        seed=seed,
        data_dir=data_dir,
    )
    s = train_ensemble(cfg, out)
    human = (
        f"ensemble model, {s['params']:,} parameters, {s['steps']} steps in {s['seconds']:.0f}s\n"
        f"validation NLL per token: order model {s['val_nll_order']:.4f}, with the ensemble {s['val_nll_ensemble']:.4f} "
        f"(loss advantage {s['loss_advantage']:+.4f}; with the previous minute's image {s['loss_advantage_prev_minute']:+.4f})\n"
        f"saved {out}/ensemble.pt"
    )
    emit({k: v for k, v in s.items() if k != "train_config"}, as_json, human)


def control_eval_command(
    minutes: Annotated[int, typer.Option("--minutes", help="Controlled horizon H (minutes).")] = 10,
    rollouts: Annotated[int, typer.Option("--rollouts", help="Rollouts per start and configuration.")] = 8,
    starts_per_day: Annotated[
        int, typer.Option("--starts-per-day", help="Held-out starts per day (largest moves).")
    ] = 2,
    min_move_bps: Annotated[
        float, typer.Option("--min-move-bps", help="A start's real move over H, at least (bps).")
    ] = 15.0,
    twap_share: Annotated[float, typer.Option("--twap-share", help="TWAP volume / real volume of the horizon.")] = 0.2,
    symbols: SymbolsOption = ["GOOG", "AMZN"],  # noqa: B006 (typer needs a list default)
    seed: Annotated[int, typer.Option("--seed", help="Seed of the rollouts (common to the four configurations).")] = 0,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes (default: one per core).")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Measured controllability (paper Sec. 3.3, Fig. 6c): correlation of simulated and target (replayed) mid paths
    for {no control, control} x {no interaction, interaction with a TWAP agent}."""
    from tqdm import tqdm

    from mars_core.control.evaluate import CONFIGS, EvalSettings, run_eval

    settings = EvalSettings.from_dict(
        {
            "symbols": tuple(_symbols(symbols)),
            "minutes": minutes,
            "rollouts": rollouts,
            "starts_per_day": starts_per_day,
            "min_move_bps": min_move_bps,
            "twap_share": twap_share,
            "seed": seed,
        },
        "control-eval options",
    )
    bar = tqdm(total=None, desc="control-eval groups", disable=as_json)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    s = run_eval(settings, data_dir, workers, progress)
    bar.close()
    lines = [f"{c:28s} {s[c]:+.3f} (± {s['detail'][c]['corr_se']:.3f})" for c in CONFIGS if c in s]
    human = (
        f"correlation of simulated and target mid paths over {s['minutes']} min, n = {s['n']} rollouts per cell\n"
        + "\n".join(lines)
        + f"\n{s['seconds']:.0f}s"
    )
    emit(s, as_json, human)


def bench_control(
    minutes: Annotated[int, typer.Option("--minutes", help="Simulated minutes per measurement.")] = 3,
    batches: Annotated[str, typer.Option("--batches", help="Rollout counts, comma separated.")] = "16,64",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Orders per second of controlled vs uncontrolled generation (shipped models, one thread)."""
    from mars_core.control.bench import run
    from mars_core.errors import MarsInputError

    try:
        sizes = tuple(int(b) for b in batches.split(","))
    except ValueError as err:
        raise MarsInputError(f"--batches: {batches!r} is not a comma-separated list of rollout counts") from err
    if not sizes or min(sizes) < 1:
        raise MarsInputError(f"--batches: {batches!r} needs rollout counts of at least 1")
    r = run(minutes=minutes, batches=sizes, data_dir=data_dir)
    human = "\n".join(
        f"{b:>3} rollouts: {r['orders_per_s'][b]:>6,} orders/s uncontrolled, {r['orders_per_s_controlled'][b]:>6,} "
        f"controlled (cost x{r['cost_ratio'][b]} in time, x{r['cost_ratio_per_order'][b]} per order)"
        for b in r["orders_per_s"]
    )
    emit(r, as_json, human)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the controllable-generation commands (after the order model's register, which adds `mars train`)."""
    train_app.command("ensemble")(train_ensemble_command)
    app.command("control-eval")(control_eval_command)
    bench_app.command("control")(bench_control)
