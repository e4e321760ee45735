"""Units, confidence levels, fees and the SQL both engines share, with exact expectations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, column, literal, select, table, text

from config.settings import SUPPORTED_EXCHANGES
from lib.analytics.fees import DEFAULT_TAKER_FEES, fee_schedule
from lib.analytics.units import apr_from_8h, confidence, rate_8h, rate_apr, to_usd
from lib.errors import ConfigurationError
from lib.storage.schema import UTCDateTime
from lib.storage.sqlfunctions import epoch_hour, percentile


def test_comparable_rates() -> None:
    assert rate_8h(0.0001, 1) == pytest.approx(0.0008)  # 1 h rate: 8 of them in 8 h
    assert rate_8h(0.0001, 4) == pytest.approx(0.0002)
    assert rate_apr(0.0001, 8) == pytest.approx(0.1095)  # 10.95 % a year, simple
    assert apr_from_8h(0.0001) == pytest.approx(0.1095)


@pytest.mark.parametrize(("n", "level"), [
    (0, "none"), (9, "none"), (10, "low"), (29, "low"), (30, "medium"), (89, "medium"),
    (90, "high"), (179, "high"), (180, "very high"), (720, "very high"),
])
def test_confidence_levels(n: int, level: str) -> None:
    assert confidence(n) == level


def test_usd_conversion_from_each_unit() -> None:
    assert to_usd(3000, "contracts", price=50_000, contract_size=0.01) == pytest.approx(1.5e6)
    assert to_usd(30, "base", price=50_000) == pytest.approx(1.5e6)
    assert to_usd(1.5e6, "quote", price=None) == 1.5e6
    assert to_usd(150, "contracts", price=50_000, contract_size=100, inverse=True) == 15_000
    assert to_usd(30, "base", price=None) is None  # no price, no guess
    assert to_usd(3000, "contracts", price=50_000) is None
    assert to_usd(None, "base", price=1.0) is None and to_usd(1.0, None, price=1.0) is None
    with pytest.raises(ValueError, match="unknown amount unit 'lots'"):
        to_usd(1.0, "lots", price=1.0)


def test_fees() -> None:
    fees = fee_schedule()
    assert fees.round_trip("binance", "hyperliquid") == pytest.approx(2 * (0.0005 + 0.00045))
    assert fee_schedule({"binance": 0.0002}).taker_fee("binance") == 0.0002
    with pytest.raises(ConfigurationError, match=r"taker fee for okx is 0\.05"):
        fee_schedule({"okx": 0.05})
    with pytest.raises(ConfigurationError, match="no taker fee known for exchange 'ftx'"):
        fees.taker_fee("ftx")


def test_every_registered_exchange_has_a_default_fee() -> None:
    """A venue without one would fail every opportunity that has it as a leg."""
    assert set(DEFAULT_TAKER_FEES) == set(SUPPORTED_EXCHANGES)


def test_sql_functions_agree_on_both_engines(engine: Engine) -> None:
    values = table("vals", column("x"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMPORARY TABLE vals (x FLOAT)"))
        conn.execute(text("INSERT INTO vals (x) VALUES (:x)"), [{"x": float(v)} for v in
                                                                 range(1, 11)])
        got = conn.execute(select(percentile(values.c.x, 0.5), percentile(values.c.x, 0.95),
                                  percentile(values.c.x, 0.0),
                                  percentile(values.c.x, 0.5).filter(values.c.x > 4))).one()
        # PostgreSQL's percentile_cont: position f x (n - 1), linear between neighbours
        assert tuple(got) == pytest.approx((5.5, 9.55, 1.0, 7.5))
        when = datetime(2026, 3, 1, 17, tzinfo=UTC)
        hour = conn.execute(select(epoch_hour(literal(when, UTCDateTime())))).scalar_one()
        assert hour == int(when.timestamp()) // 3600
