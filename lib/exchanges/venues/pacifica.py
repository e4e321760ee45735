"""Pacifica (Solana perp DEX): hourly funding, bare names, USDC-settled, kBONK = 1000 BONK.

Every reply is wrapped `{"success", "data", "error", "code"}` (../shared/exchange-apis-more.md
§20). `/api/v1/info` lists the markets with their listing time (`created_at`, ms) and kind
(`instrument_type`: perpetual or spot); `/api/v1/info/prices` gives every market's rates, mark,
oracle (index), open interest in **base units** (the docs say USD; the data and Pacifica's app
say base: stored as "base", converted to USD with the mark by analytics like every venue's)
and 24 h volume in USD, in one request. `funding` there is the rate already fixed for the
settlement at the next full hour (stored as the current rate, as ccxt does); `next_funding` the
running estimate for the one after (the predicted rate). History
`/api/v1/funding_rate/history` is cursor-paged, **newest first, with no time filter**: pages are
read down from now until one reaches the window start (`has_more`/`next_cursor`).

Interval: the documented 1 h ("at the end of each 1-hour interval"; no field); history rows
carry the step their own `created_at` spacing shows. Next funding: the next full hour.

Rate limits are credits per rolling 60 s per IP. The current docs give an unidentified IP 125
(older revisions 100 and 300), 1 credit a standard request and 3-12 a "heavy" GET; history was
measured at ~9 credits at any `limit`. The adapter budgets exactly that: 125 credits a minute, 9
a history request, 1 otherwise, so a backfill reads 13 contracts a minute, not 8. In case real
costs are higher (the 9 is one client's measurement; the documented range tops at 12) or
another client shares the IP, every reply's `ratelimit: "credits";r=1200;t=32` (credits left
x10, seconds to the reset; `ratelimit-policy: "credits";q=1250;w=60` is the quota x10 and
window) is read: under 12.5 credits left (10 % of the quota, more than one history request)
nothing is sent until the reset. The venue's count, not our estimate, has the last word.

Confirmed by recorded real replies (../shared/exchange-responses/pacifica/: ccxt's fetchMarkets
and captures of info, info/prices and funding_rate/history): every shape and type, spot rows in
the same lists, `k` names, OI in base units, `created_at` ~0.4 s after the hour, newest-first
history with `next_cursor`/`has_more`. Documentation only: the 4000-row page limit, the credit
costs, the rate-limit headers and the rate-limit reply (HTTP 429).
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

from lib.exchanges.base import ExchangeAdapter, HistoryPage, PageQuery
from lib.exchanges.http import RateLimit, RemainingHeader
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
from lib.exchanges.settlement_spacing import schedule_hours
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import floor_to_interval, from_ms, hours, normalise_settlement, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "pacifica"
INFO = "/api/v1/info"
PRICES = "/api/v1/info/prices"
HISTORY = "/api/v1/funding_rate/history"
INTERVAL_HOURS = 1.0  # documented: every market settles each hour
CONTRACT_SIZE = 1.0  # sizes are in base units (ccxt: contractSize 1)
PERPETUAL = "perpetual"
TEMPORARY_CODES = frozenset({"429", "500", "502", "503"})  # `code` echoes the HTTP status
CREDITS = RateLimit(125, 60.0)  # an unidentified IP's credits per rolling minute (docs)
HISTORY_WEIGHT = 9  # credits a history request costs (measured, at any `limit`)
# `ratelimit` counts tenths of a credit; below 10 % of the quota (12.5 credits, more than one
# history request) wait for the reset it names
REMAINING = RemainingHeader("ratelimit", floor=0.1 * CREDITS.requests, unit=0.1)
SNAPSHOT = SnapshotFields(rate="funding", mark="mark", index="oracle",
                          open_interest="open_interest", volume="volume_24h",
                          open_interest_unit="base", volume_unit="quote",
                          predicted="next_funding")


def _data(payload: Any, endpoint: str) -> dict[str, Any]:
    """The reply object when `success` is true, else the error it carries."""
    reply = json_object(EXCHANGE, endpoint, payload)
    if reply.get("success") is not True:
        code = reply.get("code")
        raise reply_error(EXCHANGE, endpoint, reply.get("error", ""),
                          None if code is None else str(code), TEMPORARY_CODES)
    return reply


def _is_spot_name(symbol: str) -> bool:
    """Pacifica names spot pairs BASE-QUOTE (SOL-USDC); perpetuals are bare (BTC, kBONK)."""
    return "-" in symbol


def parse_contracts(payload: Any) -> list[Contract]:
    """Perpetuals from `GET /api/v1/info` (spot pairs left out), with their listing time.

    Sample (trimmed)::

        {"success": true, "data": [
          {"symbol": "BTC", "tick_size": "1", "lot_size": "0.00001", "max_leverage": 50,
           "funding_rate": "0.0000125", "next_funding_rate": "0.0000125",
           "created_at": 1748881333944, "instrument_type": "perpetual", "base_asset": "BTC"},
          {"symbol": "SOL-USDC", ..., "instrument_type": "spot", "base_asset": "SOL"}],
         "error": null, "code": null}
    """
    contracts = []
    for row in objects(EXCHANGE, INFO, _data(payload, INFO), "data"):
        symbol = field(EXCHANGE, INFO, row, "symbol", text)
        # older replies have no instrument_type: every listed market was a perpetual
        kind = row.get("instrument_type", PERPETUAL)
        if kind != PERPETUAL or _is_spot_name(symbol):
            logger.debug("pacifica %s: skipped, %s", symbol, kind)
            continue
        contract = contract_from_symbol(
            EXCHANGE, symbol, INTERVAL_HOURS, contract_size=CONTRACT_SIZE,
            listed_at=field(EXCHANGE, INFO, row, "created_at", from_ms),
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def parse_current(payload: Any, observed_at: datetime | None = None) -> list[FundingSnapshot]:
    """Hourly rates of every perpetual from `GET /api/v1/info/prices` (decimal strings).

    Sample (trimmed)::

        {"success": true, "data": [
          {"funding": "0.00000475", "mark": "76922.3", "mid": "76921.5",
           "next_funding": "-0.00000336", "open_interest": "412.34157",
           "oracle": "76956.945987", "symbol": "BTC", "timestamp": 1789337551583,
           "volume_24h": "158617298.66148", "yesterday_price": "77231"},
          {"funding": "0", ..., "symbol": "SOL-USDC", ...}]}
    """
    now = observed_at or utcnow()
    next_time = floor_to_interval(now, INTERVAL_HOURS) + hours(INTERVAL_HOURS)
    snapshots = []
    for row in objects(EXCHANGE, PRICES, _data(payload, PRICES), "data"):
        symbol = field(EXCHANGE, PRICES, row, "symbol", text)
        if _is_spot_name(symbol):
            logger.debug("pacifica %s: skipped, a spot pair", symbol)
            continue
        snapshots.append(SNAPSHOT.read(EXCHANGE, PRICES, row, symbol, INTERVAL_HOURS,
                                       next_time, now))
    return snapshots


def parse_history_page(payload: Any, symbol: str) -> tuple[list[FundingEvent], str | None]:
    """One page of `GET /api/v1/funding_rate/history` (newest first) and the cursor of the
    next, older page (None when `has_more` is false).

    Sample::

        {"success": true, "data": [
          {"oracle_price": "77315.51898", "bid_impact_price": "77259.925406",
           "ask_impact_price": "77269", "funding_rate": "0.00000383",
           "next_funding_rate": "0.00000475", "created_at": 1789336800497}],
         "next_cursor": "1111Yd1mZ", "has_more": true}
    """
    reply = _data(payload, HISTORY)
    rows = objects(EXCHANGE, HISTORY, reply, "data")
    events = _nearest_per_hour(funding_events(EXCHANGE, HISTORY, rows, symbol,
                                              time=("created_at", from_ms), rate="funding_rate"))
    step = schedule_hours(e.funding_time for e in events)
    if step is not None:
        events = [replace(e, funding_interval_hours=step) for e in events]
    more = reply.get("has_more") is True
    cursor = field(EXCHANGE, HISTORY, reply, "next_cursor", text) if more else None
    return events, cursor


def _nearest_per_hour(events: list[FundingEvent]) -> list[FundingEvent]:
    """One row per settlement hour, the one stamped nearest it (the order kept). Rows come
    ~0.4 s after the hour; the docs' example row is stamped mid-hour (16:35:34): should such a
    row share an hour with the settlement's own, the settlement's own wins (logged)."""
    best: dict[datetime, FundingEvent] = {}
    for event in events:
        hour = normalise_settlement(event.funding_time)
        held = best.get(hour)
        if held is None or abs(event.funding_time - hour) < abs(held.funding_time - hour):
            best[hour] = event
    kept = [e for e in events if best[normalise_settlement(e.funding_time)] is e]
    if len(kept) == len(events):
        return events
    held_ids = {id(e) for e in kept}
    for dropped in (e for e in events if id(e) not in held_ids):
        logger.warning("pacifica %s: history row stamped %s left out: the settlement of %s has "
                       "a row nearer its hour", dropped.symbol, dropped.funding_time.isoformat(),
                       normalise_settlement(dropped.funding_time).isoformat())
    return kept


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """The settled rows of one history page (see `parse_history_page`)."""
    return parse_history_page(payload, symbol)[0]


class Adapter(ExchangeAdapter):
    """Pacifica: one GET per snapshot; history read down from now by an opaque cursor."""

    id = EXCHANGE
    default_base_url = "https://api.pacifica.fi"
    rate_limit = CREDITS
    remaining_header = REMAINING  # the venue's own count of credits left (see above)
    history_weight: ClassVar[float] = HISTORY_WEIGHT
    history_page_size = 4000  # `limit` maximum
    history_direction = "backward"  # newest first, from now: there is no time parameter

    def list_contracts(self) -> list[Contract]:
        return parse_contracts(self.http.get_json(INFO))

    def fetch_current(self) -> list[FundingSnapshot]:
        return parse_current(self.http.get_json(PRICES), self.http.exchange_now())

    def _limit(self, contract: Contract, reach_ms: int, start: datetime) -> int:
        """Rows enough to reach from `reach_ms` (now, or the oldest row seen) back to `start`
        at one a settlement, capped at the page size: a short recent window asks a few rows,
        not 4000 (each costs the same credits, but not the same bytes)."""
        span_h = max(0.0, (reach_ms - start.timestamp() * 1000) / 3_600_000)
        wanted = math.ceil(span_h / contract.funding_interval_hours) + 2
        return max(1, min(self.history_page_size, wanted))

    def history_page(
        self, contract: Contract, start: datetime, end: datetime, cursor: Any | None
    ) -> HistoryPage:
        """The page below `cursor` ((venue cursor, oldest ms seen); None: the newest page);
        the last page is the one that reaches `start` or has nothing older."""
        if cursor is None:
            venue_cursor, reach_ms = None, self.http.exchange_now().timestamp() * 1000
        else:
            venue_cursor, reach_ms = cursor
        params: dict[str, Any] = {"symbol": contract.symbol,
                                  "limit": self._limit(contract, int(reach_ms), start)}
        if venue_cursor is not None:
            params["cursor"] = venue_cursor
        payload = self.http.get_json(HISTORY, params, weight=self.history_weight)
        events, next_cursor = parse_history_page(payload, contract.symbol)
        if not events or next_cursor is None:
            return HistoryPage(events, None)
        oldest = min(e.funding_time for e in events)
        if normalise_settlement(oldest) <= start:
            return HistoryPage(events, None)
        return HistoryPage(events, (next_cursor, oldest.timestamp() * 1000))

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """The newest rows down to `query.first` (ms) in one request: the venue has no time
        filter, so the newest page is asked with rows enough to reach back that far."""
        start = from_ms(query.first)
        return self.history_page(contract, start, start, None).events
