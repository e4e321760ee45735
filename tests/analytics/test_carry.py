"""Realized carry from actual settlements on each leg's own schedule, both engines."""

from __future__ import annotations

import pytest
from analytics_helpers import T0, H, settle
from sqlalchemy import Engine

from lib.analytics.carry import realized_carry
from lib.analytics.fees import fee_schedule

SHORT = ("binance", "BTCUSDT")  # 8 h
LONG = ("hyperliquid", "BTC")  # 1 h
FEES = 2 * (0.0005 + 0.00045)  # taker in and out of both legs: 0.0019


def _seed(engine: Engine, skip_hourly: tuple[int, ...] = (), hourly_until: int = 24) -> None:
    """binance settles 0.0003, 0.0002, 0.0001 at T0+8h, +16h, +24h; hyperliquid 0.00001 every
    hour from T0+1h."""
    settle(engine, *SHORT, 8, [(T0 + 8 * H, 0.0003), (T0 + 16 * H, 0.0002),
                               (T0 + 24 * H, 0.0001)])
    settle(engine, *LONG, 1, [(T0 + k * H, 0.00001) for k in range(1, hourly_until + 1)
                              if k not in skip_hourly])


def _carry(engine: Engine, days: tuple[int, ...] = (1, 7)) -> dict[int, object]:
    with engine.connect() as conn:
        found = realized_carry(conn, [(SHORT, LONG)], fee_schedule(), T0 + 27 * H, days)
    return found[(SHORT, LONG)]


def test_complete_day_of_a_1h_leg_against_an_8h_leg(engine: Engine) -> None:
    _seed(engine, hourly_until=27)  # the 1 h leg is 3 h ahead: the period ends at T0+24h
    day = _carry(engine)[1]
    assert (day.start, day.end) == (T0, T0 + 24 * H)
    assert day.short.funding == pytest.approx(0.0006) and day.short.settlements == 3
    assert day.long.funding == pytest.approx(24 * 0.00001) and day.long.settlements == 24
    assert day.complete and day.completeness == pytest.approx(1.0)
    assert day.fees == pytest.approx(FEES)
    assert day.net == pytest.approx(0.0006 - 0.00024 - FEES)  # -0.00154
    assert day.net_apr == pytest.approx((0.0006 - 0.00024 - FEES) * 365)


def test_incomplete_history_is_flagged_never_summed_as_whole(engine: Engine) -> None:
    _seed(engine, skip_hourly=(5,))
    carry = _carry(engine)
    day, week = carry[1], carry[7]
    assert not day.complete
    assert day.long.completeness == pytest.approx(23 / 24)
    assert day.completeness == pytest.approx(23 / 24)
    assert day.net is None and day.net_apr is None
    assert day.partial_net == pytest.approx(0.0006 - 0.00023 - FEES)
    # a day of history, less the missing hour, is 23 of a week's 168 hours
    assert week.net is None and week.completeness == pytest.approx(23 / 168)


def test_a_leg_without_history_has_no_carry(engine: Engine) -> None:
    settle(engine, *SHORT, 8, [(T0 + 8 * H, 0.0003)])
    day = _carry(engine)[1]
    assert (day.short, day.long, day.net, day.completeness) == (None, None, None, 0.0)
