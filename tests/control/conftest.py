"""Fixtures of the control tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llm_stub import StubLLM, serve_stub


@pytest.fixture
def llm() -> Iterator[StubLLM]:
    """A stub OpenAI-compatible endpoint on 127.0.0.1 (see llm_stub.py)."""
    with serve_stub() as stub:
        yield stub
