"""Taker fees per venue: what entering and leaving a carry costs, as a fraction of notional.

Defaults are each venue's published base tier (no volume discount, no token rebate) for its
USDT/USDC-margined perpetuals, as of the 2025 schedules:

    binance      0.0500 %  USD-M futures, regular user (VIP 0)   binance.com/en/fee/futureFee
    bybit        0.0550 %  derivatives, non-VIP                  bybit.com/en/help-center (fees)
    okx          0.0500 %  perpetual swaps, regular user (Lv 1)  okx.com/fees
    bitget       0.0600 %  futures, VIP 0                        bitget.com/fee
    gate         0.0500 %  perpetual futures, VIP 0              gate.io/fee
    kucoin       0.0600 %  futures, Lv 0                         kucoin.com/vip/privilege
    hyperliquid  0.0450 %  perps, base tier (< $5M 14-day vol.)  hyperliquid.gitbook.io/
                                                                 hyperliquid-docs/trading/fees
    dydx         0.0500 %  v4, tier 1                            docs.dydx.exchange (fees)
    mexc         0.0200 %  futures, regular user                 mexc.com/fee
    deribit      0.0500 %  perpetuals (taker_commission 0.0005   deribit.com/kb/fees
                           in its own instrument list)
    hibachi      0.0450 %  tradeTakerFeeRate of /market/exchange-info (recorded reply)
    drift        0.0350 %  fees.taker of /stats/markets, BTC-PERP (recorded reply)
    lighter      0.0000 %  standard account (zero fees; premium  ccxt's recorded market:
                           accounts pay)                         taker_fee "0.0000"
    pacifica     0.0400 %  base tier                             ccxt pacifica fees (taker)
    aster        0.0350 %  futures, base tier                    asterdex.com fee schedule
    backpack     0.0500 %  perpetuals, base tier                 backpack.exchange fees

A user with a better tier sets their own per venue, e.g. `BINANCE_TAKER_FEE=0.0004` (a fraction
of notional; settings `TAKER_FEES`), which `fee_schedule(overrides)` lays over these defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lib.errors import ConfigurationError

DEFAULT_TAKER_FEES: Mapping[str, float] = {
    "binance": 0.00050,
    "bybit": 0.00055,
    "okx": 0.00050,
    "bitget": 0.00060,
    "gate": 0.00050,
    "kucoin": 0.00060,
    "hyperliquid": 0.00045,
    "dydx": 0.00050,
    "mexc": 0.00020,
    "deribit": 0.00050,
    "hibachi": 0.00045,
    "drift": 0.00035,
    "lighter": 0.0,
    "pacifica": 0.00040,
    "aster": 0.00035,
    "backpack": 0.00050,
}


@dataclass(frozen=True)
class FeeSchedule:
    """Taker fee per exchange, as a fraction of the notional traded."""

    taker: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TAKER_FEES))

    def taker_fee(self, exchange: str) -> float:
        try:
            return self.taker[exchange]
        except KeyError:
            raise ConfigurationError(f"no taker fee known for exchange {exchange!r}") from None

    def round_trip(self, short_exchange: str, long_exchange: str) -> float:
        """Entering and leaving both legs at the taker fee, per unit of notional per leg."""
        return 2.0 * (self.taker_fee(short_exchange) + self.taker_fee(long_exchange))


def fee_schedule(overrides: Mapping[str, float] | None = None) -> FeeSchedule:
    """The default table with a user's own fees on top; a negative fee is refused."""
    taker = dict(DEFAULT_TAKER_FEES)
    for exchange, fee in (overrides or {}).items():
        if not 0.0 <= fee < 0.01:
            raise ConfigurationError(
                f"taker fee for {exchange} is {fee!r}: expected a fraction, e.g. 0.0005 for 0.05 %"
            )
        taker[exchange] = fee
    return FeeSchedule(taker)
