"""The model card written next to `ensemble.pt` (every number from the training summary)."""

from __future__ import annotations


def _reproduce(cfg: dict) -> str:
    symbols = " ".join(cfg["symbols"])
    return (
        f"`mars train ensemble --symbols {symbols} --out DIR --width {cfg['width']} --steps {cfg['steps']} "
        f"--minutes-per-batch {cfg['minutes_per_batch']} --per-minute {cfg['per_minute']} --lr {cfg['lr']:g} "
        f"--dropout {cfg['dropout']:g} --seed {cfg['seed']} --threads 1`"
    )


def render(s: dict) -> str:
    """Markdown card of a trained ensemble."""
    om, rm, cfg, ca = s["order_model_summary"], s["return_map"], s["train_config"], s["candidate_activity"]
    sampled = ""
    if "loss_advantage_sampled_image" in s:
        sampled = (
            f"| image drawn by the order-batch model from the 15 real minutes before "
            f"| {s['val_nll_ensemble_sampled_image']:.4f} | {s['loss_advantage_sampled_image']:+.4f} |\n"
        )
    return f"""# Ensemble model (MarS Large Market Model, part 2: ensemble, paper App. D)

Refines the frozen order model's next-order distribution with a target order image for the
current minute (the 3 x 32 x 32 counts of orders by type, price slot and volume slot, as
decoded by the VQ-VAE): a small cross-attention from the order model's last hidden state over
the image's 96 (type, price) rows corrects the logits of each factor (type x price, volume,
interval), and a learned gate multiplies in the image's own frequencies (product of experts).
It also sees the pace of the minute (orders of each type sent so far in it and the elapsed
share of it), so it can tell a minute running ahead of its image from one running behind.
All corrections start at zero, so an untrained ensemble is the order model. At generation
time the controller (`mars_core.control`) draws candidate next minutes with the order-batch
model, elects the one whose predicted return best matches the control signal, and conditions
this model on it.

`return_map.json` next to it is the controller's map from a (decoded) image to the minute's
mid-price return, fitted in the same run.

## Data and split

- Days: {", ".join(s["days"])}; every order is one example: the frozen order model's hidden
  state before it, the order's token, the reconstructed image of the minute it is drawn in,
  and the pace of that minute at the order before it.
- Training: targets before 14:30 ({s["train_examples"]:,} orders, {s["train_minutes"]} minutes);
  validation: from 14:30 ({s["val_examples"]:,} orders, {s["val_minutes"]} minutes, never trained on).
- Order model: `{om["size"]}`, {om["params"]:,} parameters, validation NLL {om["val_nll"]:.4f}
  (the ensemble only fits that checkpoint: its hidden states are the ensemble's input).
  Tokenizer fingerprint `{s["tokenizer_fingerprint"]}` (the VQ-VAE's and order-batch model's).

## Model

- Width {s["model_args"]["width"]}, {s["model_args"]["n_head"]} cross-attention heads,
  {s["params"]:,} parameters; image pseudo-counts {s["model_args"]["prior_tp"]} / {s["model_args"]["prior_vol"]}.
- Mean product-of-experts gates on validation: type x price {s["gates_mean"]["type_price"]},
  volume {s["gates_mean"]["volume"]}.

## Training

- AdamW, peak learning rate {cfg["lr"]:g} after {cfg["warmup"]} warm-up steps, cosine decay to
  {cfg["min_lr"]:g}; dropout {cfg["dropout"]:g}; {s["steps"]} steps of {cfg["minutes_per_batch"]} minutes x
  {cfg["per_minute"]} orders ({s["examples_seen"]:,} examples).
- Time: {s["prep_seconds"]:.0f} s to build the examples, {s["seconds"]:.0f} s wall clock in all
  ({s["cpu_seconds"]:.0f} s CPU, {s["threads"]} torch thread), on the 2-core development machine.
- Reproduce: {_reproduce(cfg)}

## Validation NLL per token (nats; paper Fig. 14's loss advantage)

| condition | NLL | advantage over the order model ({s["val_nll_order"]:.4f}) |
|---|---|---|
| the minute's own (reconstructed) image | {s["val_nll_ensemble"]:.4f} | {s["loss_advantage"]:+.4f} |
| the previous minute's image (no foresight) | {s["val_nll_ensemble_prev_minute"]:.4f} | {s["loss_advantage_prev_minute"]:+.4f} |
{sampled}
Training NLL: order model {s["train_nll_order"]:.4f}, with the ensemble {s["train_nll_ensemble"]:.4f}.

## Return map and candidate activity (controller)

Ridge (lambda {rm["lambda"]:g}) of the minute's mid return on antisymmetric buy/sell features of the
image: R^2 {rm["train_r2"]:.3f} on {rm["train_minutes"]} training minutes, {rm["val_r2"]:.3f} on
{rm["val_minutes"]} validation minutes (correlation {rm["val_corr"]:.3f}); returns have a standard
deviation of {rm["return_std_bps"]:.2f} bps, predictions {rm["pred_std_bps"]:.2f} bps.

Candidate activity: the controller's candidates (one draw by the order-batch model from the
{ca["history_minutes"]} real minutes before each minute) hold {ca["train_drawn_per_minute"]:.0f} orders per training minute
against {ca["train_real_per_minute"]:.0f} real ones ({ca["val_drawn_per_minute"]:.0f} vs {ca["val_real_per_minute"]:.0f} held out). The ensemble follows
its image's activity, so the controller multiplies candidates by {ca["scale"]:.3f}, the training
ratio; held out, real over scaled drawn orders is {ca["val_ratio_scaled"]:.3f}.

## Limitations

- The gain needs the right image: with the minute's own image the ensemble is clearly better
  than the order model; with the previous minute's it is slightly better; with a single image
  drawn by the order-batch model it is {"worse" if s.get("loss_advantage_sampled_image", 0) > 0 else "not worse"}
  on average (a random future steers toward that future, which is the point of control, not of
  likelihood).
- The pace makes the ensemble follow the image's activity as well as its mix, so a controlled
  rollout sends about as many orders as the chosen minutes hold. The order-batch model forecasts
  the next minute from the last ones, so when the market speeds up (GOOG from 14:40) controlled
  rollouts are quieter than the real market and than uncontrolled ones.
- Two stocks on one date; validation is the same day's afternoon.
"""
