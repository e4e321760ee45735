"""dYdX v4 (indexer) perpetual markets: hourly funding, all USDC-collateralised.

`/v4/perpetualMarkets` is keyed by ticker and carries every market's predicted hourly rate,
oracle price, open interest and 24 h volume: one request for the whole snapshot. History
`/v4/historicalFunding/{ticker}` returns up to 1000 rows newest first, before or at
`effectiveBeforeOrAt` (ISO-8601), with no start parameter (../shared/exchange-apis.md §9).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from lib.errors import ExchangeDataError
from lib.exchanges.base import ExchangeAdapter, PageQuery
from lib.exchanges.http import RateLimit
from lib.exchanges.replies import (
    SnapshotFields,
    contract_from_symbol,
    field,
    funding_events,
    json_object,
    objects,
    reply_error,
    text,
)
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import floor_to_interval, from_iso, from_ms, hours, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "dydx"
MARKETS = "/v4/perpetualMarkets"
HISTORY = "/v4/historicalFunding/{ticker}"
INTERVAL_HOURS = 1.0  # every dYdX v4 market settles hourly
# Not collected: not yet trading, or closing out for good (no funding any more).
SKIPPED_STATUSES = {"INITIALIZING", "FINAL_SETTLEMENT"}
# the oracle price is the only price dYdX gives (it margins on it): the index price here
# open interest in base units, volume24H in USD
SNAPSHOT = SnapshotFields(rate="nextFundingRate", index="oraclePrice",
                          open_interest="openInterest", volume="volume24H",
                          open_interest_unit="base", volume_unit="quote")
CONTRACT_SIZE = 1.0  # sizes are in base units (ccxt: contractSize 1)


def _check(payload: Any, endpoint: str) -> dict[str, Any]:
    """The reply object; the indexer's `{"errors": [{"msg": ...}]}` shape raises."""
    reply = json_object(EXCHANGE, endpoint, payload)
    if "errors" in reply:
        errors = reply["errors"]
        first = errors[0] if isinstance(errors, list) and errors else errors
        raise reply_error(EXCHANGE, endpoint,
                          first.get("msg", first) if isinstance(first, dict) else first)
    return reply


def _markets(payload: Any) -> list[dict[str, Any]]:
    """Markets worth collecting (INITIALIZING/FINAL_SETTLEMENT left out, logged)."""
    markets = field(EXCHANGE, MARKETS, _check(payload, MARKETS), "markets", lambda v: v)
    if not isinstance(markets, dict) or not all(isinstance(m, dict) for m in markets.values()):
        raise ExchangeDataError(EXCHANGE, MARKETS, "field 'markets' is not an object of objects")
    rows = []
    for ticker, market in markets.items():
        status = field(EXCHANGE, MARKETS, market, "status", text)
        if status in SKIPPED_STATUSES:
            logger.debug("dydx %s: skipped, status %s", ticker, status)
            continue
        rows.append(market)
    return rows


def parse_contracts(payload: Any) -> list[Contract]:
    """Perpetual markets from `GET /v4/perpetualMarkets`.

    Sample (trimmed)::

        {"markets": {"BTC-USD": {"ticker": "BTC-USD", "status": "ACTIVE",
          "oraclePrice": "118976.5376", "nextFundingRate": "0", "marketType": "CROSS",
          "openInterest": "52.0691", "volume24H": "1292729.3605", ...}}}
    """
    contracts = []
    for market in _markets(payload):
        status = market["status"]
        contract = contract_from_symbol(
            EXCHANGE,
            field(EXCHANGE, MARKETS, market, "ticker", text),
            INTERVAL_HOURS,
            status="trading" if status == "ACTIVE" else status.lower(),
            contract_size=CONTRACT_SIZE,
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def parse_current(payload: Any, observed_at: datetime | None = None) -> list[FundingSnapshot]:
    """Predicted hourly rates from `GET /v4/perpetualMarkets` (decimals are strings).

    The oracle price is the only price dYdX gives (it margins on it): it is the index price
    here, and there is no mark price. Next settlement = the next full hour.
    """
    now = observed_at or utcnow()
    next_time = floor_to_interval(now, INTERVAL_HOURS) + hours(1)
    return [
        SNAPSHOT.read(EXCHANGE, MARKETS, market, field(EXCHANGE, MARKETS, market, "ticker", text),
                      INTERVAL_HOURS, next_time, now)
        for market in _markets(payload)
    ]


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Settled hourly rates from `GET /v4/historicalFunding/{ticker}` (newest first).

    Sample::

        {"historicalFunding": [{"ticker": "BTC-USD", "rate": "0.000176",
          "price": "118536.67532", "effectiveAtHeight": "45103017",
          "effectiveAt": "2025-07-29T05:00:01.053Z"}]}
    """
    rows = objects(EXCHANGE, HISTORY, _check(payload, HISTORY), "historicalFunding")
    return funding_events(EXCHANGE, HISTORY, rows, symbol, time=("effectiveAt", from_iso),
                          rate="rate", mark="price", interval_hours=INTERVAL_HOURS)


def iso_ms(value: datetime) -> str:
    """ISO-8601 with milliseconds and Z, the form the indexer validates."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Adapter(ExchangeAdapter):
    """dYdX v4 indexer: one GET per snapshot; history paged backward by effectiveBeforeOrAt."""

    id = EXCHANGE
    default_base_url = "https://indexer.dydx.trade"
    rate_limit = RateLimit(100, 10.0)  # indexer default: 100 GETs / 10 s per IP
    history_page_size = 1000  # API_LIMIT_V4
    history_direction = "backward"  # newest rows at or before `effectiveBeforeOrAt`
    history_slack = timedelta(minutes=30)  # `effectiveAt` is stamped seconds after the hour
    retry_after_unit = 0.001  # the indexer sends Retry-After in milliseconds

    def list_contracts(self) -> list[Contract]:
        return parse_contracts(self.http.get_json(MARKETS))

    def fetch_current(self) -> list[FundingSnapshot]:
        return parse_current(self.http.get_json(MARKETS), self.http.exchange_now())

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """The newest rows at or before `effectiveBeforeOrAt` (the cursor, sent as ISO-8601);
        the endpoint has no start parameter."""
        before = iso_ms(from_ms(query.last))
        params = {"limit": self.history_page_size, "effectiveBeforeOrAt": before}
        path = HISTORY.format(ticker=contract.symbol)
        return parse_history(self.http.get_json(path, params), contract.symbol)
