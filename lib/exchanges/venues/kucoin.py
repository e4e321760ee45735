"""KuCoin Futures (api-futures.kucoin.com): USDT-, USDC- and coin-margined perpetuals.

`/api/v1/contracts/active` carries every contract with its current funding, interval
(`fundingRateGranularity`, ms), next settlement, mark/index, open interest and turnover: one
request for the whole snapshot. History `/api/v1/contract/funding-rates` needs `from` and `to`
(ms) and returns at most 100 rows, newest first (../shared/exchange-apis.md §6). BTC is "XBT".
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from lib.errors import ExchangeDataError
from lib.exchanges.base import ExchangeAdapter, PageQuery
from lib.exchanges.http import RateLimit
from lib.exchanges.replies import (
    Envelope,
    SnapshotFields,
    contract_from_symbol,
    field,
    funding_events,
    objects,
    optional_field,
    text,
)
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import HOUR_MS, from_ms, normalise_settlement, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "kucoin"
CONTRACTS = "/api/v1/contracts/active"
CURRENT_ONE = "/api/v1/funding-rate/{symbol}/current"
HISTORY = "/api/v1/contract/funding-rates"
# the history endpoint answers "200" on success, the rest "200000"
ENVELOPE = Envelope("code", "msg", ok=frozenset({"200000", "200"}))
PERPETUAL_TYPE = "FFWCSX"  # FFICSX = dated futures
PRELAUNCH_STATUS = "Init"
# Weights in KuCoin's public resource pool (2000 per 30 s).
WEIGHT_CONTRACTS, WEIGHT_CURRENT_ONE, WEIGHT_HISTORY = 3, 2, 5
# open interest in contracts (lots of `multiplier` base units), turnover in the quote currency
SNAPSHOT = SnapshotFields(rate="fundingFeeRate", mark="markPrice", index="indexPrice",
                          open_interest="openInterest", volume="turnoverOf24h",
                          open_interest_unit="contracts", volume_unit="quote",
                          predicted="predictedFundingFeeRate", cap="fundingRateCap",
                          floor="fundingRateFloor")
CURRENT_ONE_FIELDS = SnapshotFields(rate="value", predicted="predictedValue",
                                    cap="fundingRateCap", floor="fundingRateFloor")


def _list(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    """The `data` list of the `{code, msg, data}` envelope, or the error code it names."""
    return objects(EXCHANGE, endpoint, ENVELOPE.open(EXCHANGE, endpoint, payload), "data")


def _interval_hours(row: dict[str, Any], endpoint: str, name: str) -> float:
    granularity = field(EXCHANGE, endpoint, row, name, int)
    if granularity <= 0:
        raise ExchangeDataError(EXCHANGE, endpoint, f"field {name!r} is {granularity}")
    return granularity / HOUR_MS


def _perpetuals(payload: Any) -> list[dict[str, Any]]:
    """Rows of live perpetuals: dated futures and pre-launch (`Init`) contracts left out."""
    rows = []
    for row in _list(payload, CONTRACTS):
        symbol = field(EXCHANGE, CONTRACTS, row, "symbol", text)
        if row.get("type") != PERPETUAL_TYPE or row.get("status") == PRELAUNCH_STATUS:
            logger.debug("kucoin %s: skipped (type %s, status %s)",
                         symbol, row.get("type"), row.get("status"))
            continue
        rows.append(row)
    return rows


def parse_contracts(payload: Any) -> list[Contract]:
    """Perpetual contracts from `GET /api/v1/contracts/active`.

    Sample (trimmed)::

        {"code": "200000", "data": [{"symbol": "XBTUSDTM", "type": "FFWCSX",
          "baseCurrency": "XBT", "quoteCurrency": "USDT", "settleCurrency": "USDT",
          "status": "Open", "firstOpenDate": 1585555200000,
          "fundingRateGranularity": 28800000, ...}]}
    """
    contracts = []
    for row in _perpetuals(payload):
        status = str(row.get("status", "Open"))
        contract = contract_from_symbol(
            EXCHANGE,
            row["symbol"],
            _interval_hours(row, CONTRACTS, "fundingRateGranularity"),
            base=field(EXCHANGE, CONTRACTS, row, "baseCurrency", text),
            quote=field(EXCHANGE, CONTRACTS, row, "quoteCurrency", text),
            settle=field(EXCHANGE, CONTRACTS, row, "settleCurrency", text),
            listed_at=optional_field(row, "firstOpenDate", from_ms),
            status="trading" if status == "Open" else status.lower(),
            # base units per lot; negative for inverse contracts, whose lots are USD
            contract_size=_size(optional_field(row, "multiplier")),
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def _size(multiplier: float | None) -> float | None:
    return None if multiplier is None else abs(multiplier)


def _next_funding(row: dict[str, Any], now: datetime) -> datetime:
    """`nextFundingRateDateTime` (absolute ms) where given, else now + the countdown
    `nextFundingRateTime` (ms remaining, not a timestamp)."""
    absolute = optional_field(row, "nextFundingRateDateTime", from_ms)
    if absolute is not None:
        return absolute
    remaining = field(EXCHANGE, CONTRACTS, row, "nextFundingRateTime", int)
    return normalise_settlement(now + timedelta(milliseconds=remaining))


def parse_current(payload: Any, observed_at: datetime | None = None) -> list[FundingSnapshot]:
    """Current funding of every perpetual from `GET /api/v1/contracts/active`.

    Sample (trimmed; mostly JSON numbers, `openInterest` a string of contracts)::

        {"code": "200000", "data": [{"symbol": "XBTUSDTM", "type": "FFWCSX",
          "fundingFeeRate": 0.000132, "fundingRateGranularity": 28800000,
          "nextFundingRateTime": 7466987, "nextFundingRateDateTime": 1750176000000,
          "markPrice": 64681.31, "indexPrice": 64681.1, "openInterest": "8306597",
          "turnoverOf24h": 560148040.31, ...}]}
    """
    now = observed_at or utcnow()
    return [
        SNAPSHOT.read(EXCHANGE, CONTRACTS, row, row["symbol"],
                      _interval_hours(row, CONTRACTS, "fundingRateGranularity"),
                      _next_funding(row, now), now)
        for row in _perpetuals(payload)
    ]


def parse_current_one(
    payload: Any, symbol: str, observed_at: datetime | None = None
) -> FundingSnapshot:
    """One contract's funding from `GET /api/v1/funding-rate/{symbol}/current`.

    Sample (the reply names the funding index symbol, not the contract)::

        {"code": "200000", "data": {"symbol": ".XBTUSDTMFPI8H", "granularity": 28800000,
          "timePoint": 1705896000000, "value": 0.000136, "predictedValue": 8e-05,
          "fundingTime": 1705924800000}}

    `timePoint` is the start of the running period (KuCoin: "the settlement time point of the
    previous cycle"), so the next settlement is `fundingTime`, or `timePoint + granularity`
    where older replies lack it.
    """
    endpoint = CURRENT_ONE
    data = ENVELOPE.open(EXCHANGE, endpoint, payload).get("data")
    if not isinstance(data, dict):
        raise ExchangeDataError(EXCHANGE, endpoint, "field 'data' is not an object")
    granularity = field(EXCHANGE, endpoint, data, "granularity", int)
    next_time = optional_field(data, "fundingTime", from_ms)
    if next_time is None:
        start = field(EXCHANGE, endpoint, data, "timePoint", int)
        next_time = from_ms(start + granularity)
    return CURRENT_ONE_FIELDS.read(
        EXCHANGE, endpoint, data, symbol, _interval_hours(data, endpoint, "granularity"),
        next_time, observed_at or utcnow(),
    )


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Settled rates from `GET /api/v1/contract/funding-rates` (newest first, ms numbers).

    Sample::

        {"success": true, "code": "200", "msg": "success", "retry": false,
         "data": [{"symbol": "IDUSDTM", "fundingRate": 0.018750, "timepoint": 1702310700000}]}
    """
    return funding_events(EXCHANGE, HISTORY, _list(payload, HISTORY), symbol,
                          time=("timepoint", from_ms), rate="fundingRate")


class Adapter(ExchangeAdapter):
    """KuCoin Futures: contracts/active = snapshot; history paged backward by `to`."""

    id = EXCHANGE
    default_base_url = "https://api-futures.kucoin.com"
    rate_limit = RateLimit(2000, 30.0)  # public pool: 2000 weight / 30 s per IP
    history_page_size = 100  # the endpoint has no limit parameter; 100 rows is its page
    history_direction = "backward"  # newest rows at or before `to` (ms)
    history_slack = timedelta(minutes=30)  # reported times lag the schedule; >= 1 h apart

    def list_contracts(self) -> list[Contract]:
        return parse_contracts(self.http.get_json(CONTRACTS, weight=WEIGHT_CONTRACTS))

    def fetch_current(self) -> list[FundingSnapshot]:
        payload = self.http.get_json(CONTRACTS, weight=WEIGHT_CONTRACTS)
        return parse_current(payload, self.http.exchange_now())

    def fetch_current_one(self, symbol: str) -> FundingSnapshot:
        """One contract's current funding (a cheaper call than the whole list)."""
        path = CURRENT_ONE.format(symbol=symbol)
        return parse_current_one(
            self.http.get_json(path, weight=WEIGHT_CURRENT_ONE), symbol, self.http.exchange_now()
        )

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """The newest rows in [`from`, `to`] (ms)."""
        params = {"symbol": contract.symbol, "from": query.first, "to": query.last}
        payload = self.http.get_json(HISTORY, params, weight=WEIGHT_HISTORY)
        return parse_history(payload, contract.symbol)
