"""An account gets one Stripe customer, however often creating it is retried."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from meterwall.billing.ports import PaymentGateway
from meterwall.billing.service import BillingService
from meterwall.billing.store import BillingStore
from meterwall.identity.accounts import AccountStore
from meterwall.settings import Settings
from meterwall.storage.engine import create_engine
from meterwall.storage.migrate import upgrade

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


class LostAnswers:
    """A provider that honours idempotency keys, and loses the answer to the first call."""

    def __init__(self) -> None:
        self.by_key: dict[str, str] = {}
        self.customers: set[str] = set()
        self.calls = 0

    async def create_customer(self, email: str, account_id: str, idempotency_key: str) -> str:
        self.calls += 1
        if idempotency_key not in self.by_key:
            made = f"cus_{len(self.by_key) + 1}"
            self.by_key[idempotency_key] = made
            self.customers.add(made)
        if self.calls == 1:
            raise ConnectionError("the answer was lost on the way back")
        return self.by_key[idempotency_key]

    async def customer_exists(self, customer_id: str) -> bool:
        return customer_id in self.customers


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}"
    upgrade(url)
    made = create_engine(url)
    yield made
    await made.dispose()


def service(engine: AsyncEngine, provider: Any, tmp_path: Path) -> BillingService:
    settings = Settings(data_dir=tmp_path, secret_key="test")
    return BillingService(
        settings, BillingStore(engine), AccountStore(engine), cast(PaymentGateway, provider)
    )


async def test_a_retry_after_a_lost_answer_gets_the_same_customer(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    provider = LostAnswers()
    billing = service(engine, provider, tmp_path)
    account = await AccountStore(engine).get_or_create("reader@example.com", NOW)
    with pytest.raises(ConnectionError):
        await billing.customer_for(account)
    assert await billing.customer_for(account) == "cus_1"
    assert provider.customers == {"cus_1"}


async def test_a_customer_deleted_at_the_provider_is_replaced_by_a_new_one(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    provider = LostAnswers()
    provider.calls = 1  # no lost answers here
    billing = service(engine, provider, tmp_path)
    accounts = AccountStore(engine)
    account = await accounts.get_or_create("reader@example.com", NOW)
    first = await billing.customer_for(account)
    provider.customers.discard(first)
    again = await accounts.by_id(account.id)
    assert again is not None
    second = await billing.customer_for(again)
    assert second != first
    assert second in provider.customers
