"""The model card written next to every trained `model.pt` (from the training summary)."""

from __future__ import annotations

import math

from mars_core.model.tokenizer import TOKENIZER_VERSION


def reproduce_command(summary: dict) -> str:
    """The `mars train order-model` command line that reruns a training."""
    c = summary["train_config"]
    return (
        f"mars train order-model --symbols {' '.join(c['symbols'])} --out DIR --size {c['size']} --steps {c['steps']} "
        f"--batch-size {c['batch_size']} --lr {c['lr']:g} --dropout {c['dropout']:g} "
        f"--depth-sigma {c.get('depth_sigma', 0):g} --eval-every {c['eval_every']} --seed {c['seed']} "
        f"--threads {summary['threads']}"
    )


def model_card(summary: dict, bench: dict | None = None, scaling: dict | None = None) -> str:
    """Markdown model card; `bench` (a `mars bench sampler --json` result) adds the speed section,
    `scaling` (a `mars train scaling` result) the scaling study."""
    m, c = summary["model_args"], summary["train_config"]
    epochs = summary["tokens_seen"] / max(summary["train_tokens"], 1)
    rows = [
        ("order model", summary["val_nll"]),
        ("bigram (interpolated)", summary["bigram_nll"]),
        ("unigram (add-alpha)", summary["unigram_nll"]),
    ]
    table = "\n".join(f"| {name} | {nll:.4f} | {math.exp(nll):,.0f} |" for name, nll in rows)
    cov_rows = "\n".join(
        f"| {day} | {split} | {v['price']:.2%} | {v['volume']:.2%} | {v['interval']:.2%} |"
        for day, parts in summary.get("coverage", {}).items()
        for split, v in parts.items()
    )
    cpu = f", {summary['cpu_seconds'] / 60:.1f} minutes of CPU" if "cpu_seconds" in summary else ""
    card = f"""# Order model (MarS Large Market Model, part 1)

A LLaMA-style causal transformer that continues the order flow of a stock order by order
(paper Sec. 2.1, eq. 1). One order is one token of 49,152 (type x price slot x volume slot x
interval slot); each position also carries the binned volumes of 10 book levels after the
order, the spread (exact up to 15 ticks, log-spaced bins up to 256: price slots are measured
from the quotes, so without it the model could not tell a one-tick market from a wide one, and a
GOOG spread is above 31 ticks 44% of the time) and the flow context of `mars_core/model/context.py`:
the mid change over the last 1 and 5 minutes and the last 5 minutes' order count and mean size.
(The paper's eq. 1 uses the mid change since the open; on two stock-days that tells the model the
time of the morning and pulled rollouts back toward the day's path.) Load it with
`mars_core.model.checkpoint.load_order_model()` (no network); sample with `OrderModelSampler`.

## Data and split

- Days: {", ".join(summary["days"])} (LOBSTER sample files; the order flow of
  `mars_core.data.orderflow`, marketable orders regrouped from their executions).
- Split by time: orders sent from 14:30 to the close (the last 90 minutes) are validation,
  everything before is training. Tokenizer bins and both baselines are fitted on training only.
- Training tokens: {summary["train_tokens"]:,}; validation tokens: {summary["val_tokens"]:,}.

## Tokenizer (version {TOKENIZER_VERSION})

Price slots are whole ticks from the quotes before the order (cross / inside the spread /
passive regions for submissions; depth behind the best bid or ask for cancels), volume and
interval slots equal-frequency bins with frequent exact values in their own bins, all fitted
on the training split and stored in `model.pt`. Share of orders outside the slot ranges
(clipped into the last slot):

| day | split | price | volume | interval |
|---|---|---|---|---|
{cov_rows}

## Model

- {m["n_layer"]} layers, width {m["n_embd"]}, {m["n_head"]} query heads sharing {m["n_kv_head"]} key/value head(s),
  SwiGLU hidden {m["mlp_hidden"]}, RMSNorm, rotary positions, sliding-window attention over {m["window"]} tokens.
- {summary["params"]:,} parameters (`{summary["size"]}` size).
- Output: exact factorisation p(type, price) p(volume | type, price, L1) p(interval | type, price, volume),
  a proper distribution over all 49,152 tokens, so the NLL below compares directly with the baselines.
  L1 is the size of the best level the order acts on (the opposite best for a marketable order): 62%
  of marketable orders take exactly that level, a relation the head did not learn from the trunk alone.

## Training

- AdamW (betas 0.9, 0.95, weight decay {c["weight_decay"]:g} on matrices), peak learning rate {c["lr"]:g} after
  {c["warmup"]} warm-up steps, cosine decay to {c["min_lr"]:g}; dropout {c["dropout"]:g};
  gradient clipping {c["grad_clip"]:g}.
- Depth augmentation: each training window's volumes of levels 2-10 are multiplied by one factor
  exp(N(0, {c.get("depth_sigma", 0):g}^2)) (the best levels and the spread are kept). On two days the book's
  depth tells the time of day; without it the model read a thickening book as a busier market and a
  rollout's order rate rose to 1.3-1.7x the real one within 30 minutes.
- {summary["steps"]} steps of {c["batch_size"]} windows of {m["window"]} tokens:
  {summary["tokens_seen"]:,} tokens ({epochs:.1f} epochs).
- Time: {summary["seconds"] / 60:.1f} minutes wall clock{cpu}, {summary["threads"]} torch thread(s),
  on the 2-core development machine (shared with other jobs while it ran).
- Reproduce: `{reproduce_command(summary)}`
  (batches and dropout are seeded per step, so the same command and thread count give the same
  weights bit for bit).

## Validation NLL per token (nats)

| model | NLL | perplexity |
|---|---|---|
{table}

Baseline smoothing chosen on the last 10% of the training tokens: unigram alpha = {summary["unigram_alpha"]},
bigram beta = {summary["bigram_beta"]}.

## Limitations

- Two stocks on one date: the validation set is the same day's afternoon, not an unseen day;
  the model has seen no other market regime.
- The context is the order flow, the visible volumes of 10 levels, the spread and the flow context;
  it does not see the time of day, so the afternoon's trends (more and larger orders toward the
  close) reach it only through the flow context of the rollout itself.
- Beyond the window the KV cache keeps sliding-window attention; the no-cache path truncates
  the context to the window instead (as MarS's released code does), so the two differ after
  {m["window"]} positions.
"""
    if bench:
        speed = "\n".join(
            f"| {b} | {v:,} | {bench['tokens_per_s_nocache'][b]:,} | {bench['speedup'][b]}x |"
            for b, v in bench["tokens_per_s"].items()
        )
        card += f"""
## Sampling speed (`mars bench sampler`, {bench["threads"]} thread(s))

Raw sampling, no matching: `sample()` + `feed()` per step, B rollouts in lockstep. One torch
thread: on the 2-core machine, shared with other jobs, two threads made these small steps
slower, not faster (the threads wait on each other).

| rollouts B | tokens/s, KV cache | tokens/s, window recomputed | speed-up |
|---|---|---|---|
{speed}

A full 49,152-way output head with a 49,152-way multinomial takes {bench["head_ms"]["full"]:.2f} ms per step at B=64
(the head alone would also hold {49152 * m["n_embd"]:,} weights), against {bench["head_ms"]["factorised"]:.2f} ms for the
three factorised heads with their three draws.
"""
    if scaling:
        card += scaling_section(scaling)
    return card


def scaling_section(scaling: dict) -> str:
    """The card's section on a `mars train scaling` result: each size's final NLL and whether it overfit."""

    sizes = "\n".join(
        f"| {r['size']} | {r['params']:,} | {r['tokens_seen']:,} | {r['val_nll']:.4f} |" for r in scaling["runs"]
    )
    turns = []
    for r in scaling["runs"]:
        best = min(r["curve"], key=lambda c: c["val_nll"])
        if best["step"] < r["curve"][-1]["step"]:
            turns.append(f"{r['size']} turns up after step {best['step']}")
    if turns:
        verdict = f"The validation loss overfits: {'; '.join(turns)} (its training loss keeps falling)."
    else:
        verdict = (
            f"No size's validation loss turned up within {scaling['steps']:,} steps; the gap between training "
            f"and validation loss at the end grows with size ({', '.join(_gaps(scaling))})."
        )
    return f"""
## Scaling study (`mars train scaling`, `scaling.json`)

Every size trained on the same data with the same steps and settings:

| size | parameters | tokens seen | validation NLL |
|---|---|---|---|
{sizes}

Unigram {scaling["unigram_nll"]:.4f}, bigram {scaling["bigram_nll"]:.4f}. {verdict} With about
{scaling["train_tokens"]:,} training tokens the paper's scaling law cannot be tested: it needs far more
data than two sample days.
"""


def _gaps(scaling: dict) -> list[str]:
    return [f"{r['size']} {r['curve'][-1]['val_nll'] - r['curve'][-1]['train_loss']:.2f} nats" for r in scaling["runs"]]
