"""Fixtures for the FHIR gatherer tests: a shared client and an all-mocking respx router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx
from gather_builders import settings

from app.fhir.client import make_fhir_client


@pytest.fixture
async def fhir_client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_fhir_client(settings()) as shared:
        yield shared


@pytest.fixture
def fhir() -> Iterator[respx.MockRouter]:
    """Any request without a matching route fails the test (assert_all_mocked)."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router
