"""Hyperliquid perpetuals: every public request is `POST /info` with a JSON `type`.

`metaAndAssetCtxs` returns `[meta, assetCtxs]` aligned by index (one request for the whole
snapshot); funding settles every hour; `fundingHistory` returns at most 500 rows, oldest first,
from `startTime` (ms). Names are bare coins, all USDC-settled; `kPEPE` = 1000 PEPE
(../shared/exchange-apis.md §8).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from lib.errors import ExchangeDataError
from lib.exchanges.base import ExchangeAdapter, PageQuery
from lib.exchanges.http import RateLimit
from lib.exchanges.replies import (
    SnapshotFields,
    contract_from_symbol,
    field,
    funding_events,
    objects,
    reply_error,
    text,
)
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import (
    HOUR_MS,
    floor_to_interval,
    from_ms,
    hours,
    utcnow,
)

logger = logging.getLogger(__name__)

EXCHANGE = "hyperliquid"
INFO = "/info"
HISTORY = "fundingHistory"  # the /info request type, named in errors as an endpoint
# open interest in coins, dayNtlVlm the day's notional (USD)
SNAPSHOT = SnapshotFields(rate="funding", mark="markPx", index="oraclePx",
                          open_interest="openInterest", volume="dayNtlVlm",
                          open_interest_unit="base", volume_unit="quote")
CONTRACT_SIZE = 1.0  # sizes are in coins (ccxt: contractSize 1)
INTERVAL_HOURS = 1.0  # every Hyperliquid perpetual settles hourly
INFO_WEIGHT = 20  # meta, metaAndAssetCtxs, fundingHistory; fundingHistory +1 per 20 rows


def _check(payload: Any, endpoint: str) -> Any:
    """Raise for the `{"status": "err", "response": ...}` error shape."""
    if isinstance(payload, dict) and payload.get("status") == "err":
        raise reply_error(EXCHANGE, endpoint, payload.get("response", ""))
    return payload


def _split(payload: Any, endpoint: str) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """(universe, asset contexts or None) from a `meta` object or a `[meta, ctxs]` pair."""
    payload = _check(payload, endpoint)
    if isinstance(payload, dict):
        return objects(EXCHANGE, endpoint, payload, "universe"), None
    if not isinstance(payload, list) or len(payload) != 2 or not isinstance(payload[1], list):
        raise ExchangeDataError(EXCHANGE, endpoint, "expected [meta, assetCtxs]")
    universe, ctxs = objects(EXCHANGE, endpoint, payload[0], "universe"), payload[1]
    if len(universe) != len(ctxs):
        raise ExchangeDataError(
            EXCHANGE, endpoint,
            f"{len(universe)} universe entries but {len(ctxs)} assetCtxs (index-aligned)",
        )
    return universe, ctxs


def _live(entry: dict[str, Any], endpoint: str) -> bool:
    name = field(EXCHANGE, endpoint, entry, "name", text)
    if entry.get("isDelisted") is True:
        logger.debug("hyperliquid %s: skipped, delisted", name)
        return False
    return True


def parse_contracts(payload: Any) -> list[Contract]:
    """Perpetuals from `{"type": "meta"}` (or `metaAndAssetCtxs`); delisted coins left out.

    Sample (trimmed)::

        {"universe": [{"name": "BTC", "szDecimals": 5, "maxLeverage": 50},
                      {"name": "kPEPE", "szDecimals": 0, "maxLeverage": 10},
                      {"name": "MATIC", "szDecimals": 1, "maxLeverage": 20,
                       "isDelisted": true}]}
    """
    contracts = []
    for entry in _split(payload, INFO)[0]:
        if not _live(entry, INFO):
            continue
        contract = contract_from_symbol(EXCHANGE, entry["name"], INTERVAL_HOURS,
                                        contract_size=CONTRACT_SIZE)
        if contract is not None:
            contracts.append(contract)
    return contracts


def parse_current(payload: Any, observed_at: datetime | None = None) -> list[FundingSnapshot]:
    """Current hourly funding from `{"type": "metaAndAssetCtxs"}` (values are strings).

    Sample (trimmed)::

        [{"universe": [{"name": "SOL", "szDecimals": 2, "maxLeverage": 50}]},
         [{"funding": "0.0000198", "markPx": "108.04", "oraclePx": "107.99",
           "openInterest": "10764.48", "dayNtlVlm": "9450588.2273", ...}]]
    """
    universe, ctxs = _split(payload, INFO)
    if ctxs is None:
        raise ExchangeDataError(EXCHANGE, INFO, "expected [meta, assetCtxs], got meta only")
    now = observed_at or utcnow()
    next_time = floor_to_interval(now, INTERVAL_HOURS) + hours(1)
    snapshots = []
    for entry, ctx in zip(universe, ctxs, strict=True):
        if not _live(entry, INFO):
            continue
        snapshots.append(
            SNAPSHOT.read(EXCHANGE, INFO, ctx, entry["name"], INTERVAL_HOURS, next_time, now)
        )
    return snapshots


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Settled hourly rates from `{"type": "fundingHistory"}` (oldest first, `time` ms).

    Sample::

        [{"coin": "ETH", "fundingRate": "0.0000125", "premium": "0.00057962",
          "time": 1704290400031}]
    """
    rows = objects(EXCHANGE, HISTORY, _check(payload, HISTORY))
    return funding_events(EXCHANGE, HISTORY, rows, symbol, time=("time", from_ms),
                          rate="fundingRate", interval_hours=INTERVAL_HOURS)


class Adapter(ExchangeAdapter):
    """Hyperliquid: one weighted POST per snapshot; history paged forward by `startTime`."""

    id = EXCHANGE
    default_base_url = "https://api.hyperliquid.xyz"
    rate_limit = RateLimit(1200, 60.0)  # aggregated REST weight per IP per minute
    history_page_size = 500
    history_direction = "forward"  # oldest rows from `startTime` (ms)
    history_slack = timedelta(minutes=30)  # `time` is stamped a little after the hour

    def list_contracts(self) -> list[Contract]:
        return parse_contracts(self.http.post_json(INFO, {"type": "meta"}, weight=INFO_WEIGHT))

    def fetch_current(self) -> list[FundingSnapshot]:
        payload = self.http.post_json(INFO, {"type": "metaAndAssetCtxs"}, weight=INFO_WEIGHT)
        return parse_current(payload, self.http.exchange_now())

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """The oldest rows from `startTime` to `endTime` (ms); weighted by the rows expected."""
        expected_rows = min(self.history_page_size,
                            max(0, (query.last - query.first) // HOUR_MS + 1))
        body = {"type": "fundingHistory", "coin": contract.symbol,
                "startTime": query.first, "endTime": query.last}
        payload = self.http.post_json(INFO, body, weight=INFO_WEIGHT + expected_rows // 20)
        return parse_history(payload, contract.symbol)
