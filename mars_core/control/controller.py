"""Controlled generation (paper Sec. 2.2, Fig. 4): the lockstep loop, steered minute by minute.

At every minute boundary of every rollout (the first order whose time falls in a new
minute of the day):

1. "Shaping the future based on realized realities": the minutes just completed are
   turned into order images from the rollout's own order log (every order that reached
   its exchange: generated, injected or TWAP, as the tokens the model was fed), encoded
   by the VQ-VAE and appended to the real minutes before the start.
2. "Electing the best from every possible future": the order-batch model draws
   `candidates` next minutes from the last `history_minutes` of them (each rollout with
   its own random stream), scaled by the kit's `activity_scale` (the batch model's
   draws hold ~20% fewer orders than real minutes; the ensemble follows its image's
   activity, so unscaled candidates would quieten the market); with `mirror`, each
   candidate's buy/sell mirror is a candidate too (the batch model was trained with that symmetry). Drawn
   minutes rarely hold a move of a target's size (their predicted returns span about
   +-5 bps where a target may ask 15), so each candidate is also extrapolated along its
   own buy/sell imbalance (`tilted`: image + t (image - mirror), t in `tilt`). The
   return map (`signals.ReturnMap`) predicts each candidate's minute return, and the
   candidate closest to the return the signal asks for is chosen (`choose`). The
   controller asks for the return that brings the simulated mid (the last two-sided one)
   onto the target path by the end of the minute (feedback on the level, so deviations
   do not accumulate).
3. For that minute, every next order of the rollout is drawn from the order model's
   logits refined by the ensemble model conditioned on the chosen image and on the
   rollout's pace in the minute (its orders so far, as the model was fed them; `strength`
   scales the correction; 0 leaves the order model alone). Agents' orders still reach
   the exchange first and are fed to the model as before, so they move the book and the
   model reacts to them.

Everything else is `LockstepGroup`'s loop, unchanged: the same per-rollout uniforms
decide each factor's draw, the same decoding, matching and feeding. Uncontrolled runs
keep using `LockstepGroup` itself.

Candidate draws are batched across rollouts: a rollout that reaches a boundary is parked
(taken out of the sampler's batch, its simulated clock stopped) until the others have
caught up (every running rollout parked or finished) or it has waited `batch_wait`
steps; then all parked rollouts decide in one draw and resume. A rollout's decisions do
not depend on when it was parked or on the others (its own random streams), so the wait
changes the cost, not the result (up to rounding: a batch of another shape may round a
logit differently and flip a draw that falls on a boundary). A draw costs ~60 ms plus
~15 ms per rollout, so small batches are what waiting saves; waiting long is not free
either: a parked rollout that later turns out to be the busiest lengthens the whole run.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import Field

from mars_core.control.signals import ControlSignal, mid2_at
from mars_core.data.orderflow import order_flow
from mars_core.data.schema import BPS, NS_PER_MINUTE, LobsterDay
from mars_core.errors import MarsInputError
from mars_core.model.candidates import HISTORY_MINUTES, CandidateSampler
from mars_core.model.checkpoint import load_batch_model, load_ensemble
from mars_core.model.ensemble import EnsembleModel, MinutePace, Prepared, image_condition, pace_features
from mars_core.model.order_images import images_from_tokens, mirror_sides
from mars_core.model.return_map import RETURN_MAP_FILE, ReturnMap
from mars_core.model.sampler import Parked
from mars_core.model.tokenizer import raw_orders
from mars_core.paths import ENSEMBLE_DIR
from mars_core.settings import Settings
from mars_core.sim.agents.lmm import LockstepGroup
from mars_core.sim.simulator import Simulator


class ControlSettings(Settings):
    """How the controller steers (see the module docstring)."""

    candidates: int = Field(4, ge=1, le=64, description="next minutes drawn per rollout and minute")
    mirror: bool = Field(True, description="also consider each candidate's buy/sell mirror")
    strength: float = Field(
        1.0,
        ge=0,
        le=10,
        description="scale of the ensemble's correction (1 = as trained; above 1 steers harder, as classifier-free "
        "guidance does, but with the retrained ensemble it empties book sides: training starts 0.31 at 1, 0.21 at 3)",
    )
    history_minutes: int = Field(
        HISTORY_MINUTES,
        ge=1,
        le=15,
        description="realised minutes the order-batch model sees "
        "(7 of the 15 it can: half the cost of a candidate draw)",
    )
    temperature: float = Field(1.0, gt=0, le=5, description="temperature of the candidate draws")
    tilt: tuple[float, ...] = Field(
        (0.5, 1.0, 2.0, 4.0),
        description="extrapolations of every candidate along its buy/sell imbalance (image + t x (image - mirror)) "
        "also considered, so that moves beyond the drawn candidates' are reachable; () draws only",
    )
    batch_wait: int = Field(
        128,
        ge=0,
        le=100_000,
        description="steps a rollout parked at a minute boundary "
        "waits for others to share its candidate draw (cost only: results change only by rounding)",
    )


def tilted(counts: np.ndarray, t: float) -> np.ndarray:
    """Images (..., 3, 32, 32) pushed `t` times further along their buy/sell imbalance: counts + t (counts - mirror),
    floored at 0 (about as many orders, more of them on the side the image already favours)."""
    return np.maximum(counts + t * (counts - mirror_sides(counts)), 0)


def choose(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Index (P,) of the candidate whose predicted return (P, K) is closest to each target (P,)."""
    return np.abs(np.asarray(predicted) - np.asarray(target)[:, None]).argmin(-1)


# ------------------------------------------------------------------ models
@dataclass(frozen=True)
class ControlKit:
    """The models control needs besides the order model."""

    ensemble: EnsembleModel
    batch: object  # LoadedBatchModel (VQ-VAE inside)
    return_map: ReturnMap
    sampler: CandidateSampler
    activity_scale: float  # candidates' counts are multiplied by it (the batch model's draws undercount)
    fingerprint: str
    order_model: dict  # summary line (val_nll, size, params) of the order model the ensemble was trained on

    def check_order_model(self, model) -> None:
        """The ensemble reads the order model's hidden states: it only fits the checkpoint it was trained on.

        Raises:
            MarsInputError: `model` (a LoadedModel) is another order model.
        """
        have = {k: model.summary.get(k) for k in self.order_model}
        if have != self.order_model:
            raise MarsInputError(
                f"the ensemble was trained on the order model {self.order_model}, not on the loaded one "
                f"{have}; retrain it with `mars train ensemble --out DIR`"
            )


def load_control_kit(
    ensemble_path: str | None = None, batch_path: str | None = None, return_map_path: str | None = None
) -> ControlKit:
    """Load the ensemble (and its return map) and the order-batch model; default: the shipped ones.

    Raises:
        MarsInputError: a model is missing, or the models' images use different tokenizers.
    """
    ens = load_ensemble(ensemble_path)
    batch = load_batch_model(batch_path)
    if ens.fingerprint != batch.vqvae.fingerprint:
        raise MarsInputError(
            f"the ensemble's images ({ens.fingerprint}) and the order-batch model's "
            f"({batch.vqvae.fingerprint}) use different tokenizers"
        )
    if return_map_path is None:
        base = Path(ensemble_path) if ensemble_path is not None else ENSEMBLE_DIR
        return_map_path = (base if base.is_dir() else base.parent) / RETURN_MAP_FILE
    return ControlKit(
        ens.model,
        batch,
        ReturnMap.load(return_map_path),
        CandidateSampler(batch.model),
        ens.summary["candidate_activity"]["scale"],
        ens.fingerprint,
        ens.summary["order_model_summary"],
    )


@functools.lru_cache(maxsize=2)
def cached_control_kit(ensemble_path: str | None = None, batch_path: str | None = None) -> ControlKit:
    """`load_control_kit`, once per process."""
    return load_control_kit(ensemble_path, batch_path)


# ------------------------------------------------------------------ real history
@dataclass(frozen=True)
class RealHistory:
    """The real minutes before a start, as the controller needs them."""

    start_ts: int
    start_minute: int  # minute of the day holding the start
    codes: dict[int, np.ndarray]  # minute -> (8, 8) codes of the complete real minutes before start_minute
    tokens: np.ndarray  # real order tokens of the start minute before start_ts
    ts: np.ndarray  # their times
    mid2_start: int  # bid + ask of the real book at the start


def real_history(day: LobsterDay, start_ts: int, tokenizer, batch, minutes: int = 15) -> RealHistory:
    """Codes of the `minutes` real minutes before the start's minute and the start minute's real orders."""
    start_minute = start_ts // NS_PER_MINUTE
    first = start_minute - minutes
    flow = order_flow(day)
    lo, hi = np.searchsorted(flow.ts, [first * NS_PER_MINUTE, start_ts], side="left")
    part = flow[lo:hi]
    tokens = tokenizer.encode(raw_orders(day, part)) if len(part) else np.zeros(0, np.int64)
    ts = part.ts.astype(np.int64)
    codes = {}
    if start_minute > first:
        _, images, _ = images_from_tokens(tokens, ts, first, start_minute - 1)
        have = np.flatnonzero(np.arange(first, start_minute) >= day.info.ts_start // NS_PER_MINUTE)
        if len(have):
            enc = batch.encode(images[have])
            codes = {int(first + i): enc[j] for j, i in enumerate(have)}
    in_start = ts >= start_minute * NS_PER_MINUTE
    return RealHistory(
        start_ts, int(start_minute), codes, tokens[in_start], ts[in_start], int(mid2_at(day, [start_ts])[0])
    )


# ------------------------------------------------------------------ the loop
class ControlledLockstepGroup(LockstepGroup):
    """`LockstepGroup` with minute-by-minute control (see the module docstring).

    Args:
        sims, seeds, model, context, temperature, top_k, top_p, use_cache: as `LockstepGroup`.
        kit: the ensemble, order-batch model, return map and candidate sampler.
        signal: the target path, from the start.
        real: `real_history` of the start.
        settings: `ControlSettings`.
    """

    def __init__(
        self,
        sims: list[Simulator],
        seeds: list[int],
        model,
        context: tuple[np.ndarray, ...],
        kit: ControlKit,
        signal: ControlSignal,
        real: RealHistory,
        settings: ControlSettings | None = None,
        **kwargs,
    ) -> None:
        kit.check_order_model(model)
        window = model.model.config.window
        if len(context[0]) < window:  # parking a rollout needs the model's whole window of context
            raise MarsInputError(
                f"control needs {window} real orders before the start to warm the model up; "
                f"the day has {len(context[0])} there: start later"
            )
        super().__init__(sims, seeds, model, context, **kwargs)
        self.kit = kit
        self.signal = signal
        self.real = real
        self.settings = settings or ControlSettings()
        B = len(sims)
        self.candidate_draws = [np.random.default_rng([seed, 9]) for seed in seeds]
        self.log_tokens: list[list[int]] = [list(map(int, real.tokens)) for _ in range(B)]
        self.log_ts: list[list[int]] = [list(map(int, real.ts)) for _ in range(B)]
        self.pace = [MinutePace() for _ in range(B)]  # each rollout's orders so far in its current minute
        for pace in self.pace:
            for token, ts in zip(real.tokens.tolist(), real.ts.tolist()):
                pace.add(token, ts)
        self.codes: list[dict[int, np.ndarray]] = [dict(real.codes) for _ in range(B)]
        self.minute = [real.start_minute] * B  # the minute whose image conditions each rollout
        self.parked: list[tuple[list[int], Parked]] = []  # rollouts waiting at a boundary, by parking step
        self.waited = 0  # steps since the first parked rollout was parked
        self.counts = np.zeros((B, 3, 32, 32), dtype=np.float32)  # the chosen image of each rollout
        self.decisions: list[dict] = []
        self.candidate_seconds = 0.0
        self._prep: tuple[list[int], Prepared] | None = None  # the ensemble's images of the batch rows
        self._decide(list(range(B)), [real.start_minute] * B)

    # ---------------------------------------------------------------- order log
    def _external(self, b: int, ts: int, action, bid: int, ask: int, resting: tuple | None) -> None:
        n = len(self.external[b])
        super()._external(b, ts, action, bid, ask, resting)
        if len(self.external[b]) > n:
            self._log(b, self.external[b][-1][0], ts)

    def _generate(self, b: int, sim: Simulator, token: int) -> int:
        generated, unmatched = self.generated, self.unmatched
        fed = super()._generate(b, sim, token)
        if self.generated > generated:
            self._log(b, fed, self.last_ts[b])
        elif self.unmatched > unmatched:
            # the model emitted it and took its time, as every order of its training: it counts toward the
            # minute's pace, else the ensemble, seeing the minute behind, asks for ever shorter waits and a
            # rollout loops on cancels that delete nothing
            self.pace[b].add(fed, self.last_ts[b])
        return fed

    def _log(self, b: int, token: int, ts: int) -> None:
        self.log_tokens[b].append(int(token))
        self.log_ts[b].append(int(ts))
        self.pace[b].add(int(token), int(ts))

    # ---------------------------------------------------------------- control
    def _minute_codes(self, b: int, first: int, last: int) -> None:
        """Encode rollout b's completed minutes first..last from its order log."""
        ts = np.asarray(self.log_ts[b], dtype=np.int64)
        tokens = np.asarray(self.log_tokens[b], dtype=np.int64)
        keep = ts >= first * NS_PER_MINUTE
        _, images, _ = images_from_tokens(tokens[keep], ts[keep], first, last)
        for m, code in zip(range(first, last + 1), self.kit.batch.encode(images)):
            self.codes[b][m] = code
        drop = int(np.searchsorted(ts, (last + 1) * NS_PER_MINUTE))
        del self.log_tokens[b][:drop], self.log_ts[b][:drop]  # their minutes are encoded: never needed again

    def _history(self, b: int, minute: int) -> np.ndarray:
        """Codes (H, 8, 8) of the minutes before `minute` (the real ones before the start included)."""
        H = self.settings.history_minutes
        have = [self.codes[b][m] for m in range(minute - H, minute) if m in self.codes[b]]
        return np.stack(have) if have else np.zeros((0, 8, 8), dtype=np.int64)

    def _decide(self, rollouts: list[int], minutes: list[int]) -> None:
        """Draw candidates for each rollout's new minute, choose one, condition the ensemble on it."""
        started = time.perf_counter()
        s, kit = self.settings, self.kit
        by_len: dict[int, list[int]] = defaultdict(list)  # histories of equal length are drawn together
        hist = {}
        for b, m in zip(rollouts, minutes):
            hist[b] = self._history(b, m)
            by_len[len(hist[b])].append(b)
        target = {b: self._target_bps(b, m) for b, m in zip(rollouts, minutes)}
        for group in by_len.values():
            u = np.stack([self.candidate_draws[b].random((s.candidates, 64)) for b in group])
            codes = kit.sampler.sample(
                np.stack([hist[b] for b in group]), s.candidates, u, s.temperature
            )  # (P, n, 8, 8)
            counts = kit.batch.decode(codes) * kit.activity_scale  # (P, n, 3, 32, 32)
            if s.mirror:
                counts = np.concatenate([counts, mirror_sides(counts)], axis=1)
            counts = np.concatenate([counts] + [tilted(counts, t) for t in s.tilt], axis=1)
            predicted = kit.return_map.predict(counts)  # (P, K) bps
            chosen = choose(predicted, np.array([target[b] for b in group]))
            for p, b in enumerate(group):
                self.counts[b] = counts[p, chosen[p]]
                self.decisions.append(
                    {
                        "rollout": b,
                        "minute": int(dict(zip(rollouts, minutes))[b]),
                        "target_bps": round(float(target[b]), 3),
                        "chosen_bps": round(float(predicted[p, chosen[p]]), 3),
                        "min_bps": round(float(predicted[p].min()), 3),
                        "max_bps": round(float(predicted[p].max()), 3),
                        "mirrored": bool(s.mirror and chosen[p] % (2 * s.candidates) >= s.candidates),
                        "tilt": ([0.0] + list(s.tilt))[chosen[p] // (s.candidates * (2 if s.mirror else 1))],
                        "orders": round(float(counts[p, chosen[p]].sum()), 1),
                    }
                )
        for b, m in zip(rollouts, minutes):
            self.minute[b] = m
        self._prep = None
        self.candidate_seconds += time.perf_counter() - started

    def _target_bps(self, b: int, minute: int) -> float:
        """The return (bps) that takes rollout b's mid onto the target path by the end of `minute`."""
        end = (minute + 1) * NS_PER_MINUTE - self.real.start_ts
        target = float(self.signal.target_logret(end))
        return (target - np.log(self.flows[b].mid2[-1] / self.real.mid2_start)) * BPS

    def _boundaries(self) -> None:
        """Park the rollouts whose last order entered a new minute (their completed minutes encoded);
        once no rollout is running or the first has waited `batch_wait` steps, decide for all parked
        ones and resume them."""
        crossed = [i for i, b in enumerate(self.rows) if self.last_ts[b] // NS_PER_MINUTE > self.minute[b]]
        if crossed:
            rollouts = [self.rows[i] for i in crossed]
            for b in rollouts:
                self._minute_codes(b, self.minute[b], self.last_ts[b] // NS_PER_MINUTE - 1)
            self.parked.append((rollouts, self.sampler.park(crossed)))
            self.rows = [b for b in self.rows if b not in rollouts]
        if not self.parked:
            return
        if self.rows and self.waited < self.settings.batch_wait:
            self.waited += 1
            return
        due = [b for rollouts, _ in self.parked for b in rollouts]
        self._decide(due, [int(self.last_ts[b] // NS_PER_MINUTE) for b in due])
        for rollouts, parked in self.parked:
            self.sampler.resume(parked)
            self.rows += rollouts
        self.parked.clear()
        self.waited = 0

    # ---------------------------------------------------------------- step
    def step(self) -> None:
        """Park or decide at minute boundaries, then `LockstepGroup.step` for the running rollouts."""
        self._boundaries()
        if self.rows:
            super().step()

    def run(self) -> None:
        while self.rows or self.parked:
            self.step()

    def draw(self, u: np.ndarray) -> np.ndarray:
        """Next tokens drawn with the ensemble conditioned on each running rollout's chosen image and pace."""
        s, ens = self.sampler, self.kit.ensemble
        with torch.inference_mode():
            if self._prep is None or self._prep[0] != self.rows:  # new images or new batch rows
                cond = image_condition(self.counts[self.rows], ens.config.prior_tp, ens.config.prior_vol)
                self._prep = (list(self.rows), ens.prepare(cond))
            done, elapsed = zip(*(self.pace[b].at(self.last_ts[b]) for b in self.rows))
            pace = pace_features(np.stack(done), np.array(elapsed))
            return ens.sample(
                self.model.model,
                s.hidden(),
                s.best,
                pace,
                self._prep[1],
                torch.as_tensor(u, dtype=torch.float32),
                s.temperature,
                s.top_k,
                s.top_p,
                self.settings.strength,
            )
