"""Shared fixtures of the order-model tests: one torch thread, a tokenizer fitted on the sample days' training split."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from mars_core.data import LobsterDay
from mars_core.model.dataset import fit_tokenizer
from mars_core.model.tokenizer import OrderTokenizer


@pytest.fixture(scope="session")
def tokenizer(goog_day: LobsterDay, amzn_day: LobsterDay) -> OrderTokenizer:
    return fit_tokenizer([goog_day, amzn_day])


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """One thread: tiny tensors gain nothing from two, and on a busy machine two threads wait on each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
