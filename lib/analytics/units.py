"""Comparable units: every figure analytics shows is one of these, never a raw per-interval rate.

- rate_8h = rate x 8 / interval_h: what the rate would pay over 8 hours, so a 1 h and an 8 h
  venue compare;
- APR = rate x 8760 / interval_h = rate_8h x 1095: simple, not compounded;
- USD amounts: open interest and 24 h volume converted once, here, from the venue's own unit.

Also the confidence level a statistic earns from its number of observations.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Float, case, cast
from sqlalchemy.sql.elements import ColumnElement

from lib.models import rate_8h, rate_apr

__all__ = [
    "APR_PER_8H",
    "AmountUnit",
    "apr_from_8h",
    "confidence",
    "confidence_sql",
    "rate_8h",
    "rate_8h_sql",
    "rate_apr",
    "to_usd",
]

HOURS_PER_YEAR = 8760
APR_PER_8H = HOURS_PER_YEAR / 8  # 1095 eight-hour periods a year

# Upper bounds (exclusive) of each confidence level by number of observations; at or above
# the last bound the level is "very high".
CONFIDENCE_LEVELS: tuple[tuple[int, str], ...] = (
    (10, "none"), (30, "low"), (90, "medium"), (180, "high"),
)
TOP_CONFIDENCE = "very high"

# How a venue counts open interest and volume: in contracts (each `contract_size` base units,
# or USD for inverse contracts), in base units (of the venue's base: 1000PEPE on Binance), or in
# the quote currency (USDT, USDC and USD all taken at 1 USD).
AmountUnit = Literal["contracts", "base", "quote"]
AMOUNT_UNITS: tuple[str, ...] = ("contracts", "base", "quote")


def apr_from_8h(value_8h: float) -> float:
    """Simple APR of a rate_8h (or a spread in rate_8h)."""
    return value_8h * APR_PER_8H


def rate_8h_sql(rate: ColumnElement[Any], interval_hours: ColumnElement[Any]) -> Any:
    """rate_8h as SQL: floating-point division on both engines."""
    return cast(rate, Float) * 8.0 / interval_hours


def confidence(n: int) -> str:
    """Confidence level of a statistic over n observations."""
    for bound, level in CONFIDENCE_LEVELS:
        if n < bound:
            return level
    return TOP_CONFIDENCE


def confidence_sql(n: ColumnElement[Any]) -> Any:
    """`confidence(n)` as a SQL CASE, from the same table."""
    return case(*((n < bound, level) for bound, level in CONFIDENCE_LEVELS), else_=TOP_CONFIDENCE)


def to_usd(amount: float | None, unit: str | None, *, price: float | None,
           contract_size: float | None = None, inverse: bool = False) -> float | None:
    """An open interest or volume in USD, from the unit the venue gives it in.

    `price` is the mark price of one venue base unit (a 1000PEPE contract's price is for 1000
    PEPE), `contract_size` the base units per contract (USD per contract when `inverse`).
    Unknown inputs give None, never a guess.
    """
    if amount is None or unit is None:
        return None
    if unit == "quote":
        return amount
    if unit == "contracts":
        if contract_size is None:
            return None
        if inverse:
            return amount * contract_size
        amount, unit = amount * contract_size, "base"
    if unit == "base":
        return None if price is None else amount * price
    raise ValueError(f"unknown amount unit {unit!r} (expected one of {AMOUNT_UNITS})")
