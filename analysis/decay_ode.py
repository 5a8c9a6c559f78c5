"""Long-term impact decay: the learned ODE of eq. (2) and the base ODE of eq. (14) (paper Sec. 4.3, App. K).

Learned ODE (eq. 2), for one trajectory with factors x (7 standardised
values) and time t in minutes since the end of execution:

    dY/dt = sum_{i,j} W_ij x_i F_j(t) + sum_j b_j F_j(t),
    F(t)  = [1 / (t + s), 1 / sqrt(t + s)],   Y(0) = impact at the end of execution.

The factors are `DECAY_FACTORS` (sqrt(Q/V), mid price before trading,
agent_replay, agent_rollout, LOB depth, LOB pressure, resiliency), z-scored
with the training rows' mean and std so that W is comparable across factors
(Fig. 9b). Because z-scored factors average to zero, the mean decay shared by
all trajectories needs its own term: the intercept b (2,), reported next to W
(the paper's raw factors carry it implicitly). The shift s (default 1 minute)
keeps F finite at t = 0, where 1/t and 1/sqrt(t) are singular.

W and b are learned with torchdiffeq's `odeint` (fixed-step rk4 on the curve
grid, float64, CPU) by full-batch Adam on
    MSE(Y_pred / y_scale, Y / y_scale) + l1 * (|W| / y_scale).sum(),
with y_scale the RMS of Y(t) - Y(0) over the training curves, so that `l1`
does not depend on the impact's units. W starts at zero: training is
deterministic.

Base ODE (eq. 14, the square-root process):
    dY/dt = c * sigma * sqrt(Q/V) / sqrt(t + s),
whose solution is Y(t) = Y(0) + 2 c sigma sqrt(Q/V) (sqrt(t + s) - sqrt(s)).
The paper writes c = 1 (a minus sign for a decay may have been lost in the
PDF text); the rate has units of impact per sqrt(minute), so here c is fitted
by least squares on the training curves (closed form), or fixed by the caller.

Decay autocorrelation (Fig. 26): for lag k minutes, the Pearson correlation
of the pairs (Y_n(t), Y_n(t + k)) pooled over all curves n and times t.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch
from torchdiffeq import odeint

from analysis.impact import split_trajectories
from mars_core.errors import MarsInputError

DECAY_FACTORS = [
    "sqrt_q_over_v",
    "mid_price",
    "agent_replay",
    "agent_rollout",
    "lob_depth",
    "lob_pressure",
    "resiliency",
]
DECAY_FUNCTIONS = ["1/t", "1/sqrt(t)"]


def decay_basis(t: torch.Tensor, shift: float) -> torch.Tensor:
    """F(t) = [1/(t+s), 1/sqrt(t+s)], shape (..., 2)."""
    ts = t + shift
    return torch.stack([1.0 / ts, 1.0 / torch.sqrt(ts)], dim=-1)


class DecayRate(torch.nn.Module):
    """Right-hand side of eq. (2) for a batch of trajectories: dY/dt = (x W + b) . F(t)."""

    def __init__(self, x: torch.Tensor, shift: float) -> None:
        super().__init__()
        self.x = x  # (N, 7) standardised factors
        self.shift = shift
        self.W = torch.nn.Parameter(torch.zeros(x.shape[1], len(DECAY_FUNCTIONS), dtype=x.dtype))  # (7, 2)
        self.b = torch.nn.Parameter(torch.zeros(len(DECAY_FUNCTIONS), dtype=x.dtype))  # (2,)

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (self.x @ self.W + self.b) @ decay_basis(t, self.shift)  # (N,)


def _integrate(
    rate: DecayRate, y0: torch.Tensor, t: torch.Tensor, method: str, step_size: float | None
) -> torch.Tensor:
    """(N, T) solution of dY/dt = rate(t, Y) from Y(t[0]) = y0."""
    options = {"step_size": step_size} if step_size is not None else None
    return odeint(rate, y0, t, method=method, options=options).T


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread: for these tiny tensors the thread pool costs more than it gives."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_curves(t_min: np.ndarray, curves: np.ndarray, x: np.ndarray) -> None:
    if x.ndim != 2 or x.shape[1] != len(DECAY_FACTORS):
        raise MarsInputError(
            f"x must have shape (n_trajectories, {len(DECAY_FACTORS)}) with columns {DECAY_FACTORS}, got {x.shape}"
        )
    if t_min.ndim != 1 or t_min.size < 2 or t_min[0] != 0 or np.any(np.diff(t_min) <= 0):
        raise MarsInputError("t_min must be an increasing grid of minutes starting at 0 (the end of execution)")
    if curves.shape != (x.shape[0], t_min.size):
        raise MarsInputError(
            f"curves must have shape (n_trajectories, len(t_min)) = {(x.shape[0], t_min.size)}, got {curves.shape}"
        )
    if not (np.all(np.isfinite(curves)) and np.all(np.isfinite(x))):
        raise MarsInputError("curves and factors must be finite (drop trajectories with missing factors first)")


@dataclass(frozen=True, eq=False)
class DecayODEFit:
    """A learned eq. (2): weights W (7 x 2) and intercept b (2,), in the curves' (relative impact) units."""

    W: np.ndarray
    b: np.ndarray
    x_mean: np.ndarray  # (7,) standardisation of the factors
    x_std: np.ndarray
    shift: float
    train_mse: float
    method: str
    step_size: float | None = None  # fixed-step solvers: minutes per step, None = the curve grid
    factor_names: tuple[str, ...] = tuple(DECAY_FACTORS)
    decay_names: tuple[str, ...] = tuple(DECAY_FUNCTIONS)

    def predict(self, x: np.ndarray, y0: np.ndarray, t_min: np.ndarray) -> np.ndarray:
        """(N, T) impact curves from raw factors x (N, 7) and Y(0) = y0 (N,)."""
        rate = DecayRate(torch.as_tensor((np.asarray(x, float) - self.x_mean) / self.x_std), self.shift)
        with torch.no_grad(), _one_thread():
            rate.W.copy_(torch.as_tensor(self.W))
            rate.b.copy_(torch.as_tensor(self.b))
            y0_t, t_t = torch.as_tensor(np.asarray(y0, float)), torch.as_tensor(np.asarray(t_min, float))
            out = _integrate(rate, y0_t, t_t, self.method, self.step_size)
        return out.numpy()

    def weights_frame(self) -> pd.DataFrame:
        """W as a labelled 7 x 2 table (rows: factors, columns: decay functions), for Fig. 9b."""
        return pd.DataFrame(self.W, index=list(self.factor_names), columns=list(self.decay_names))

    def to_dict(self) -> dict:
        return {
            "W": self.W.tolist(),
            "b": self.b.tolist(),
            "factors": list(self.factor_names),
            "decay_functions": list(self.decay_names),
            "x_mean": self.x_mean.tolist(),
            "x_std": self.x_std.tolist(),
            "shift": self.shift,
            "train_mse": self.train_mse,
            "method": self.method,
            "step_size": self.step_size,
        }


def fit_decay_ode(
    t_min: np.ndarray,
    curves: np.ndarray,
    x: np.ndarray,
    epochs: int = 300,
    lr: float = 0.05,
    l1: float = 1e-3,
    shift: float = 1.0,
    method: str = "rk4",
    step_size: float | None = None,
) -> DecayODEFit:
    """Learn W and b of eq. (2) from long-term impact curves (see the module docstring).

    Args:
        t_min: (T,) minutes since the end of execution, t_min[0] = 0.
        curves: (N, T) impact; curves[:, 0] is the initial condition Y(0).
        x: (N, 7) raw factors in the order of `DECAY_FACTORS`.
        epochs: full-batch Adam steps.
        lr: Adam learning rate.
        l1: weight of the L1 penalty on W (in y_scale units).
        shift: s in F(t) = [1/(t+s), 1/sqrt(t+s)], minutes (> 0).
        method: torchdiffeq solver ("rk4" fixed grid, "dopri5", ...).
        step_size: step of fixed-step solvers in minutes; None steps along
            the curve grid (rk4 on a 1-minute grid is within ~1e-3 of the
            exact solution relative to the curve's scale).
    """
    t_min, curves, x = (np.asarray(a, dtype=float) for a in (t_min, curves, x))
    _check_curves(t_min, curves, x)
    if shift <= 0:
        raise MarsInputError(f"shift must be positive (minutes), was {shift}")
    x_mean, x_std = x.mean(axis=0), x.std(axis=0)
    # a constant factor standardises to 0 and gets no weight (its std is rounding noise, not 0, in float)
    constant = x_std <= 1e-9 * np.maximum(np.abs(x_mean), 1.0)
    x_std[constant] = 1.0
    x_mean[constant] = x[0, constant]
    y_scale = float(np.sqrt(np.mean((curves - curves[:, :1]) ** 2))) or 1.0

    rate = DecayRate(torch.as_tensor((x - x_mean) / x_std), shift)
    target = torch.as_tensor(curves / y_scale)
    t = torch.as_tensor(t_min)
    optimizer = torch.optim.Adam(rate.parameters(), lr=lr)
    with _one_thread():
        for _ in range(epochs):
            optimizer.zero_grad()
            mse = torch.mean((_integrate(rate, target[:, 0], t, method, step_size) - target) ** 2)
            (mse + l1 * rate.W.abs().sum()).backward()
            optimizer.step()
    W, b = rate.W.detach().numpy() * y_scale, rate.b.detach().numpy() * y_scale
    fit = DecayODEFit(
        W=W,
        b=b,
        x_mean=x_mean,
        x_std=x_std,
        shift=float(shift),
        train_mse=float("nan"),
        method=method,
        step_size=step_size,
    )
    return replace(fit, train_mse=float(np.mean((fit.predict(x, curves[:, 0], t_min) - curves) ** 2)))


def _sqrt_growth(t_min: np.ndarray, shift: float) -> np.ndarray:
    """Integral of 1/sqrt(u + s) from 0 to t: 2 (sqrt(t + s) - sqrt(s))."""
    return 2.0 * (np.sqrt(np.asarray(t_min, float) + shift) - np.sqrt(shift))


@dataclass(frozen=True)
class BaseODEFit:
    """Eq. (14): dY/dt = scale * sigma * sqrt(Q/V) / sqrt(t + shift)."""

    scale: float
    shift: float

    def predict(self, sigma: np.ndarray, q_over_v: np.ndarray, y0: np.ndarray, t_min: np.ndarray) -> np.ndarray:
        """(N, T) closed-form solution from Y(0) = y0."""
        amplitude = self.scale * np.asarray(sigma, float) * np.sqrt(np.asarray(q_over_v, float))
        return np.asarray(y0, float)[:, None] + amplitude[:, None] * _sqrt_growth(t_min, self.shift)[None, :]

    def to_dict(self) -> dict:
        return {"scale": self.scale, "shift": self.shift}


def fit_base_ode(
    t_min: np.ndarray, curves: np.ndarray, sigma: np.ndarray, q_over_v: np.ndarray, shift: float = 1.0
) -> BaseODEFit:
    """Least-squares scale c of eq. (14) on the training curves (closed form)."""
    curves = np.asarray(curves, float)
    g = (np.asarray(sigma, float) * np.sqrt(np.asarray(q_over_v, float)))[:, None] * _sqrt_growth(t_min, shift)[None, :]
    denom = float(np.sum(g**2))
    scale = float(np.sum(g * (curves - curves[:, :1])) / denom) if denom > 0 else 0.0
    return BaseODEFit(scale=scale, shift=float(shift))


def decay_autocorrelation(t_min: np.ndarray, curves: np.ndarray, lags: Sequence[float] = (1, 2, 3, 4, 5)) -> np.ndarray:
    """Pooled lag-k autocorrelation of impact curves (see the module docstring), one value per lag in minutes."""
    t_min, curves = np.asarray(t_min, float), np.asarray(curves, float)
    step = t_min[1] - t_min[0]
    if not np.allclose(np.diff(t_min), step):
        raise MarsInputError("decay_autocorrelation needs a uniform time grid")
    out = []
    for lag in lags:
        k = int(round(lag / step))
        if k < 1 or not np.isclose(k * step, lag) or k >= t_min.size:
            raise MarsInputError(
                f"lag {lag} min is not a positive multiple of the grid step {step} min within the horizon"
            )
        a, b = curves[:, :-k].ravel(), curves[:, k:].ravel()
        out.append(float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan"))
    return np.asarray(out)


@dataclass(frozen=True, eq=False)
class DecayComparison:
    """Learned ODE vs base ODE on held-out trajectories (Fig. 26)."""

    learned: DecayODEFit
    base: BaseODEFit
    test_mse_learned: float
    test_mse_base: float
    acf: pd.DataFrame  # columns lag_min, ground_truth, learned, base
    n_train: int
    n_test: int

    def to_dict(self) -> dict:
        return {
            "learned": self.learned.to_dict(),
            "base": self.base.to_dict(),
            "test_mse_learned": self.test_mse_learned,
            "test_mse_base": self.test_mse_base,
            "acf": self.acf.to_dict(orient="list"),
            "n_train": self.n_train,
            "n_test": self.n_test,
        }


def compare_decay_models(
    t_min: np.ndarray,
    curves: np.ndarray,
    frame: pd.DataFrame,
    test_frac: float = 0.25,
    seed: int = 0,
    lags: Sequence[float] = (1, 2, 3, 4, 5),
    **fit_args,
) -> DecayComparison:
    """Fit the learned and the base ODE on the same training trajectories and score both on the rest.

    Args:
        t_min: (T,) minutes since the end of execution (from `impact.long_term_curves`).
        curves: (N, T) long-term impact curves.
        frame: N rows aligned with `curves`, with `DECAY_FACTORS`, sigma and q_over_v
            (a `metrics_frame`).
        test_frac: share of trajectories held out.
        seed: split seed.
        lags: autocorrelation lags, minutes.
        **fit_args: passed to `fit_decay_ode` (epochs, lr, l1, shift, method, step_size).
    """
    missing = [c for c in (*DECAY_FACTORS, "sigma", "q_over_v") if c not in frame.columns]
    if missing:
        raise MarsInputError(f"compare_decay_models: frame has no column(s) {missing}")
    if len(frame) != len(curves):
        raise MarsInputError(f"frame has {len(frame)} rows but there are {len(curves)} curves")
    curves = np.asarray(curves, float)
    x = frame[DECAY_FACTORS].to_numpy(dtype=float)
    sigma, q = frame["sigma"].to_numpy(dtype=float), frame["q_over_v"].to_numpy(dtype=float)
    test = split_trajectories(np.arange(len(frame)), test_frac, seed)
    train = ~test
    learned = fit_decay_ode(t_min, curves[train], x[train], **fit_args)
    base = fit_base_ode(t_min, curves[train], sigma[train], q[train], shift=learned.shift)
    pred_learned = learned.predict(x[test], curves[test, 0], t_min)
    pred_base = base.predict(sigma[test], q[test], curves[test, 0], t_min)
    acf = pd.DataFrame(
        {
            "lag_min": np.asarray(lags, float),
            "ground_truth": decay_autocorrelation(t_min, curves[test], lags),
            "learned": decay_autocorrelation(t_min, pred_learned, lags),
            "base": decay_autocorrelation(t_min, pred_base, lags),
        }
    )
    return DecayComparison(
        learned=learned,
        base=base,
        test_mse_learned=float(np.mean((pred_learned - curves[test]) ** 2)),
        test_mse_base=float(np.mean((pred_base - curves[test]) ** 2)),
        acf=acf,
        n_train=int(train.sum()),
        n_test=int(test.sum()),
    )
