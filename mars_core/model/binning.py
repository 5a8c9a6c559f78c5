"""Binning of integer quantities (prices in ticks, sizes, waiting times, book volumes) for the tokenizer.

Bins are fitted on the training values: equal-frequency, except that a value holding at
least its share of what is left (e.g. 100 shares) gets a bin of its own (`Binner.fit`).
A range cap (a high quantile of the training values) bounds the bins; larger values go to
the last bin and count as outside the range. Decoding draws a value within a bin from
the empirical values seen there in training (`SAMPLES_PER_BIN` stored quantiles per bin).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import torch

SAMPLES_PER_BIN = 128  # stored quantiles of the training values in each bin, for decoding


@dataclass(frozen=True)
class Binner:
    """Integer values to bins: bin k holds values in (upper[k-1], upper[k]]; values above the
    last upper bound (the range cap) go to the last bin and count as outside the range."""

    upper: np.ndarray  # (n,) int64 inclusive upper bound of each bin, increasing
    samples: np.ndarray  # (n, SAMPLES_PER_BIN) int64 sorted quantiles of the training values in each bin

    def __post_init__(self) -> None:
        # plain-Python copies for the per-order decoding path (numpy calls on scalars are slow)
        object.__setattr__(self, "_upper", self.upper.tolist())
        object.__setattr__(self, "_samples", self.samples.tolist())

    @classmethod
    def fit(cls, values: np.ndarray, n_bins: int, cap_quantile: float = 1.0) -> Binner:
        """Equal-frequency bins over the values up to the cap quantile; a value holding at least
        the remaining count / remaining bins gets its own bin. Fewer bins only if fewer distinct values
        (no values at all: one bin holding 0)."""
        values = np.asarray(values, dtype=np.int64)
        if len(values) == 0:
            return cls(np.zeros(1, dtype=np.int64), np.zeros((1, SAMPLES_PER_BIN), dtype=np.int64))
        cap = int(np.quantile(values, cap_quantile, method="higher"))
        values = np.sort(values[values <= cap])
        uniq, counts = np.unique(values, return_counts=True)
        uppers: list[int] = []
        i, remaining, bins_left = 0, len(values), n_bins
        while i < len(uniq):
            target = remaining / bins_left
            j, acc = i, 0
            while j < len(uniq):
                acc += counts[j]
                j += 1
                if bins_left == 1:
                    continue  # the last bin takes everything left
                if acc >= target or counts[j : j + 1].sum() >= target or len(uniq) - j <= bins_left - 1:
                    break
            uppers.append(int(uniq[j - 1]))
            remaining -= acc
            bins_left -= 1
            i = j
        upper = np.array(uppers, dtype=np.int64)
        lower_idx = np.searchsorted(values, np.r_[values[0] - 1, upper[:-1]], side="right")
        upper_idx = np.searchsorted(values, upper, side="right")
        q = (np.arange(SAMPLES_PER_BIN) + 0.5) / SAMPLES_PER_BIN
        samples = np.stack([values[lo + (q * (hi - lo)).astype(np.int64)] for lo, hi in zip(lower_idx, upper_idx)])
        return cls(upper, samples)

    @property
    def n_bins(self) -> int:
        return len(self.upper)

    def bin(self, values: np.ndarray) -> np.ndarray:
        """Bin index of each value (values above the cap land in the last bin)."""
        return np.minimum(np.searchsorted(self.upper, values, side="left"), self.n_bins - 1)

    def outside(self, values: np.ndarray) -> np.ndarray:
        """True where a value is above the range cap."""
        return np.asarray(values) > self.upper[-1]

    def bin_one(self, value: int) -> int:
        """`bin` of one value."""
        return min(bisect.bisect_left(self._upper, value), len(self._upper) - 1)

    def bounds(self, k: int) -> tuple[int, int]:
        """Smallest and largest value of bin k (the last bin is open above: values past the cap land there)."""
        lo = self._upper[k - 1] + 1 if k > 0 else -(2**62)
        return lo, self._upper[k] if k < len(self._upper) - 1 else 2**62

    def draw(self, k: int, rng: np.random.Generator) -> int:
        """A random training value of bin k."""
        return self.quantile(k, rng.random())

    def quantile(self, k: int, u: float, limit: int | None = None) -> int | None:
        """The u-quantile (0 <= u < 1) of the training values of bin k, optionally only among
        those <= limit (None if there are none)."""
        row = self._samples[k]
        n = len(row) if limit is None else bisect.bisect_right(row, limit)
        return None if n == 0 else row[int(u * n)]

    def state(self) -> dict[str, torch.Tensor]:
        return {"upper": torch.from_numpy(self.upper.copy()), "samples": torch.from_numpy(self.samples.copy())}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor]) -> Binner:
        return cls(state["upper"].numpy().astype(np.int64), state["samples"].numpy().astype(np.int64))
