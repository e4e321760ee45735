"""Gate APIv4 USDT-settled perpetual futures.

The contract list is also the funding snapshot (one request for every contract); history is
`/futures/usdt/funding_rate`, newest first, up to 1000 rows, times in Unix seconds
(../shared/exchange-apis.md §5).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from lib.errors import ExchangeDataError
from lib.exchanges.base import ExchangeAdapter, PageQuery
from lib.exchanges.http import RateLimit
from lib.exchanges.replies import (
    SnapshotFields,
    contract_from_symbol,
    field,
    finite,
    funding_events,
    objects,
    optional_field,
    reply_error,
    text,
)
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import from_seconds, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "gate"
CONTRACTS = "/api/v4/futures/usdt/contracts"
HISTORY = "/api/v4/futures/usdt/funding_rate"
SKIPPED_STATUSES = {"prelaunch", "delisted"}
# open interest is `position_size` in contracts; the list has no 24 h volume
SNAPSHOT = SnapshotFields(rate="funding_rate", mark="mark_price", index="index_price",
                          open_interest="position_size", open_interest_unit="contracts",
                          predicted="funding_rate_indicative")


def _rows(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    """The bare array Gate returns, or the error its `{label, message}` envelope names."""
    if isinstance(payload, dict) and "label" in payload:
        raise reply_error(EXCHANGE, endpoint, payload.get("message", ""), payload["label"])
    return objects(EXCHANGE, endpoint, payload)


def _is_perpetual(row: dict[str, Any], endpoint: str) -> bool:
    """False (logged) for pre-market and delisted contracts, which have no funding to collect."""
    name = field(EXCHANGE, endpoint, row, "name", text)
    status = str(row.get("status", "trading"))
    if row.get("is_pre_market") is True or status in SKIPPED_STATUSES:
        logger.debug("gate %s: skipped, status %s", name, status)
        return False
    return True


def _interval_hours(row: dict[str, Any], endpoint: str) -> float:
    seconds = field(EXCHANGE, endpoint, row, "funding_interval", int)
    if seconds <= 0:
        raise ExchangeDataError(EXCHANGE, endpoint, f"field 'funding_interval' is {seconds}")
    return seconds / 3600


def parse_contracts(payload: Any) -> list[Contract]:
    """Perpetual contracts from `GET /futures/usdt/contracts` (pre-market/delisted left out).

    Sample (trimmed)::

        [{"name": "0G_USDT", "type": "direct", "quanto_multiplier": "1",
          "funding_interval": 28800, "status": "trading", "is_pre_market": false,
          "launch_time": 1758124392, "create_time": 1758124392, ...}]
    """
    contracts = []
    for row in _rows(payload, CONTRACTS):
        if not _is_perpetual(row, CONTRACTS):
            continue
        listed = optional_field(row, "launch_time", from_seconds) or optional_field(
            row, "create_time", from_seconds
        )
        contract = contract_from_symbol(
            EXCHANGE,
            row["name"],
            _interval_hours(row, CONTRACTS),
            listed_at=listed,
            status=str(row.get("status", "trading")),
            contract_size=optional_field(row, "quanto_multiplier"),
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def rate_cap(row: dict[str, Any]) -> float | None:
    """The largest rate per interval a contract allows, either way: `funding_rate_limit`
    (since 2025-08), else (1 / leverage_max - maintenance_rate) x `funding_cap_ratio`, as
    Gate's contract schema defines the ratio; None when neither is given."""
    limit = optional_field(row, "funding_rate_limit", finite)
    if limit is not None:
        return limit
    ratio = optional_field(row, "funding_cap_ratio", finite)
    leverage = optional_field(row, "leverage_max", finite)
    maintenance = optional_field(row, "maintenance_rate", finite)
    if ratio is None or not leverage or maintenance is None:
        return None
    return (1.0 / leverage - maintenance) * ratio


def parse_current(payload: Any, observed_at: datetime | None = None) -> list[FundingSnapshot]:
    """Current funding from the same contract list; `funding_next_apply` is Unix seconds.

    Sample (trimmed)::

        [{"name": "BTC_USD", "funding_rate": "0.0001", "funding_interval": 28800,
          "funding_next_apply": 1741363200, "mark_price": "89029.86",
          "index_price": "89025.82", "position_size": 11835253, ...}]

    Open interest is `position_size` in contracts (of `quanto_multiplier` base units each), as
    Gate gives it; the list carries no 24 h volume (that needs `/tickers`, a second request).
    `funding_rate_indicative` is the predicted next rate; the cap is `rate_cap`.
    """
    now = observed_at or utcnow()
    snapshots = []
    for row in _rows(payload, CONTRACTS):
        if not _is_perpetual(row, CONTRACTS):
            continue
        interval = _interval_hours(row, CONTRACTS)
        next_time = field(EXCHANGE, CONTRACTS, row, "funding_next_apply", from_seconds)
        snapshot = SNAPSHOT.read(EXCHANGE, CONTRACTS, row, row["name"], interval, next_time, now)
        cap = rate_cap(row)
        snapshots.append(snapshot if cap is None else replace(snapshot, rate_cap=cap,
                                                              rate_floor=-cap))
    return snapshots


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Settled rates from `GET /futures/usdt/funding_rate` (newest first, `t` Unix seconds).

    Sample::

        [{"t": 1543968000, "r": "0.000157"}, {"t": 1543939200, "r": "0.000100"}]
    """
    return funding_events(EXCHANGE, HISTORY, _rows(payload, HISTORY), symbol,
                          time=("t", from_seconds), rate="r")


class Adapter(ExchangeAdapter):
    """Gate USDT perpetuals: contracts = snapshot, history paged backward by `to`."""

    id = EXCHANGE
    default_base_url = "https://api.gateio.ws"
    rate_limit = RateLimit(200, 10.0)  # public endpoints: 200 requests / 10 s per endpoint, IP
    history_page_size = 1000
    history_direction = "backward"  # newest rows at or before `to`
    history_unit = "s"
    history_slack = timedelta(minutes=30)  # reported times may lag the schedule; >= 1 h apart

    def list_contracts(self) -> list[Contract]:
        return parse_contracts(self.http.get_json(CONTRACTS))

    def fetch_current(self) -> list[FundingSnapshot]:
        return parse_current(self.http.get_json(CONTRACTS), self.http.exchange_now())

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """The newest rows in [`from`, `to`] (Unix seconds)."""
        params = {"contract": contract.symbol, "limit": self.history_page_size,
                  "from": query.first, "to": query.last}
        return parse_history(self.http.get_json(HISTORY, params), contract.symbol)
