"""Hibachi perpetuals (`BASE/USDT-P`) from the public data API, data-api.hibachi.xyz.

`/market/exchange-info` lists the contracts (`status` LIVE or CLOSED, listing time
`marketCreationTimestamp` in seconds with a fraction); `/market/inventory` gives every
market's estimated next rate (`estimatedFundingRate`, a fraction per interval), mark and spot
price, open interest in base units and 24 h volume in USDT in one request;
`/market/data/funding-rates` gives settled rates oldest first, `startTime`/`endTime` in epoch
**seconds** (inclusive), at most 100 rows (../shared/exchange-apis-more.md §21).

The funding interval is published nowhere and has changed (docs 2025: every 8 h; measured
2026: every hour), so it is inferred from each contract's own settlement spacing
(`infer_intervals`): history rows carry the interval each row was settled on, and the snapshot
interval is that of the contract's latest settlements (one probe per contract, cached for
`INTERVAL_TTL_S`). A contract with fewer than two recent settlements takes the interval its
venue's other contracts settle at now. A failed call is an error, never a zero rate: a LIVE
market without a rate is left out, logged.

Confirmed by recorded real replies (../shared/exchange-responses/hibachi/): the inventory and
funding-rates shapes, strings for decimals, `fundingTimestamp` in seconds on the hour, hourly
spacing in 2026, CLOSED markets with null `info`, listing time as a decimal string of seconds.
From documentation and third-party clients alone: the history parameters (`startTime`,
`endTime`, `limit` capped at 100, `offset`), the 8 h schedule before the change, and the rate
limit: none is published; we keep to 240 requests per minute (4 per second, the spacing a
third-party collector uses; ccxt allows 10 per second), a conservative choice of ours.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
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
    optional_field,
    reply_error,
    text,
)
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import floor_to_interval, hours, normalise_settlement, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "hibachi"
EXCHANGE_INFO = "/market/exchange-info"
INVENTORY = "/market/inventory"
HISTORY = "/market/data/funding-rates"
LIVE = "LIVE"
# the estimate for the next settlement; open interest in base units, volume in USDT
SNAPSHOT = SnapshotFields(rate="estimatedFundingRate", mark="markPrice", index="spotPrice",
                          open_interest="openInterestQuantity", volume="volume24h",
                          open_interest_unit="base", volume_unit="quote")
CONTRACT_SIZE = 1.0  # quantities are in base units (ccxt: contractSize 1)
PROBE_WINDOW = timedelta(days=2)  # >= 2 settlements at any interval up to 24 h
# two of the longest intervals Hibachi has used (8 h): a history range is read from this much
# earlier, so that its first row has the two settlements before it to measure its interval by
LEAD = timedelta(hours=16)
INTERVAL_TTL_S = 3600.0  # how long an inferred interval is trusted before it is read again


def _check(payload: Any, endpoint: str) -> dict[str, Any]:
    """The reply object; the `{"errorCode", "status": "failed", "message"}` shape raises."""
    reply = json_object(EXCHANGE, endpoint, payload)
    if "errorCode" in reply and "message" in reply:
        raise reply_error(EXCHANGE, endpoint, reply["message"], reply["errorCode"])
    return reply


def seconds(value: Any) -> datetime:
    """Epoch seconds (a number, or a string with a fraction) as a UTC datetime."""
    return datetime.fromtimestamp(float(value), tz=UTC)


def parse_contracts(payload: Any, intervals: dict[str, float]) -> list[Contract]:
    """LIVE perpetuals from `GET /market/exchange-info` (or `/market/inventory`), with the
    intervals inferred from their settlements ({symbol: hours}; a symbol without one is an
    error: the caller infers them first).

    Sample (trimmed)::

        {"futureContracts": [{"id": 2, "symbol": "BTC/USDT-P", "status": "LIVE",
          "underlyingSymbol": "BTC", "settlementSymbol": "USDT",
          "marketCreationTimestamp": "1727701319.73488", ...}], "status": "NORMAL"}
    """
    contracts = []
    for row in _contract_rows(payload, EXCHANGE_INFO):
        symbol = field(EXCHANGE, EXCHANGE_INFO, row, "symbol", text)
        if field(EXCHANGE, EXCHANGE_INFO, row, "status", text) != LIVE:
            logger.debug("hibachi %s: skipped, %s", symbol, row.get("status"))
            continue
        if symbol not in intervals:
            raise ExchangeDataError(EXCHANGE, HISTORY, f"{symbol}: funding interval unknown")
        settle = field(EXCHANGE, EXCHANGE_INFO, row, "settlementSymbol", text)
        contract = contract_from_symbol(
            EXCHANGE, symbol, intervals[symbol],
            base=field(EXCHANGE, EXCHANGE_INFO, row, "underlyingSymbol", text),
            quote=settle, settle=settle,
            listed_at=optional_field(row, "marketCreationTimestamp", seconds),
            contract_size=CONTRACT_SIZE,
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def _contract_rows(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    """The contract objects of an exchange-info reply, or of an inventory reply's markets."""
    reply = _check(payload, endpoint)
    if "futureContracts" in reply:
        return objects(EXCHANGE, endpoint, reply, "futureContracts")
    return [field(EXCHANGE, INVENTORY, m, "contract", dict)
            for m in objects(EXCHANGE, INVENTORY, reply, "markets")]


def live_symbols(payload: Any) -> list[str]:
    """The LIVE markets' symbols of an exchange-info or inventory reply."""
    return [field(EXCHANGE, EXCHANGE_INFO, row, "symbol", text)
            for row in _contract_rows(payload, EXCHANGE_INFO) if row.get("status") == LIVE]


def parse_current(
    payload: Any, intervals: dict[str, float], observed_at: datetime | None = None
) -> list[FundingSnapshot]:
    """Estimated next rates of the LIVE markets from `GET /market/inventory`.

    `intervals` ({symbol: hours}) come from the contracts' settlements; the next settlement is
    the next boundary of that interval. A LIVE market with a null rate is left out (logged),
    never stored as zero. Sample (trimmed)::

        {"markets": [{"contract": {"symbol": "BTC/USDT-P", "status": "LIVE", ...},
          "info": {"estimatedFundingRate": "0.000006", "markPrice": "76763.73316",
                   "spotPrice": "76758.93936", "openInterestQuantity": "9.1104214497",
                   "volume24h": "7503062.407919", ...}}]}
    """
    now = observed_at or utcnow()
    snapshots = []
    for market in objects(EXCHANGE, INVENTORY, _check(payload, INVENTORY), "markets"):
        contract = field(EXCHANGE, INVENTORY, market, "contract", dict)
        symbol = field(EXCHANGE, INVENTORY, contract, "symbol", text)
        if contract.get("status") != LIVE:
            continue
        info = field(EXCHANGE, INVENTORY, market, "info", dict)
        if info.get("estimatedFundingRate") is None:
            logger.warning("hibachi %s: LIVE but no estimatedFundingRate, left out", symbol)
            continue
        if symbol not in intervals:
            raise ExchangeDataError(EXCHANGE, HISTORY, f"{symbol}: funding interval unknown")
        interval = intervals[symbol]
        next_time = floor_to_interval(now, interval) + hours(interval)
        snapshots.append(SNAPSHOT.read(EXCHANGE, INVENTORY, info, symbol, interval, next_time,
                                       now))
    return snapshots


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Settled rates from `GET /market/data/funding-rates` (oldest first, seconds), each with
    the interval its spacing shows (`infer_intervals`).

    Sample::

        {"data": [{"contractId": 2, "fundingTimestamp": 1789326000, "fundingRate": "0.000011",
                   "indexPrice": "77327.86781"}], "pagination": {"limit": 100, "offset": 0}}
    """
    rows = objects(EXCHANGE, HISTORY, _check(payload, HISTORY), "data")
    events = funding_events(EXCHANGE, HISTORY, rows, symbol,
                            time=("fundingTimestamp", seconds), rate="fundingRate")
    return infer_intervals(events)


def infer_intervals(events: list[FundingEvent]) -> list[FundingEvent]:
    """The events, oldest first, each with the interval it settled: the time since the
    settlement before it.

    Where that gap is longer than the next one, the settlement at its start was skipped by the
    venue (the row takes the next gap) unless the gap before it is the same length (the old,
    longer schedule, ending here: an 8 h -> 1 h change). The last row's gap, when longer than the
    one before it, is a skipped settlement too. The first row has no predecessor: it takes the
    gap after it. One row alone keeps what it had.
    """
    ordered = sorted(events, key=lambda e: e.funding_time)
    times = [normalise_settlement(e.funding_time) for e in ordered]
    gaps = [(b - a).total_seconds() / 3600 for a, b in pairwise(times)]
    if not gaps:
        return ordered
    out = []
    for i, event in enumerate(ordered):
        if i == 0:
            interval = gaps[0] if len(gaps) == 1 or gaps[0] <= gaps[1] else gaps[1]
        else:
            gap = gaps[i - 1]
            before = gaps[i - 2] if i >= 2 else None
            after = gaps[i] if i < len(gaps) else None
            interval = gap
            if after is not None and gap > after and before != gap:
                interval = after
            elif after is None and before is not None and gap > before:
                interval = before
        out.append(replace(event, funding_interval_hours=round(interval, 6)))
    return out


def venue_interval(intervals: dict[str, float]) -> float | None:
    """The interval most of the venue's contracts settle at now (None: none known)."""
    counts = Counter(intervals.values())
    return counts.most_common(1)[0][0] if counts else None


class Adapter(ExchangeAdapter):
    """Hibachi: inventory = snapshot; history forward by startTime (s); intervals inferred."""

    id = EXCHANGE
    default_base_url = "https://data-api.hibachi.xyz"
    rate_limit = RateLimit(240, 60.0)  # none published: our conservative 4 requests/s
    history_page_size = 100  # larger limits are served as 100
    history_direction = "forward"  # oldest rows from `startTime`
    history_unit = "s"
    history_bounds = "inclusive"
    history_lead = LEAD

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._intervals: dict[str, tuple[float | None, float]] = {}  # symbol: (hours, read at)

    def list_contracts(self) -> list[Contract]:
        payload = self.http.get_json(EXCHANGE_INFO)
        return parse_contracts(payload, self.intervals(live_symbols(payload)))

    def fetch_current(self) -> list[FundingSnapshot]:
        payload = self.http.get_json(INVENTORY)
        return parse_current(payload, self.intervals(live_symbols(payload)),
                             self.http.exchange_now())

    def intervals(self, symbols: list[str]) -> dict[str, float]:
        """{symbol: hours} from each contract's latest settlements (read once an hour); one
        without two recent settlements takes the interval most others settle at now."""
        fresh = time.monotonic() - INTERVAL_TTL_S
        for symbol in symbols:
            cached = self._intervals.get(symbol)
            if cached is None or cached[1] < fresh:
                self._intervals[symbol] = (self._probe(symbol), time.monotonic())
        known = {s: h for s in symbols if (h := self._intervals[s][0]) is not None}
        unknown = [s for s in symbols if s not in known]
        if not unknown:
            return known
        fallback = venue_interval(known)
        if fallback is None:
            raise ExchangeDataError(EXCHANGE, HISTORY,
                                    "no contract has two recent settlements: interval unknown")
        for symbol in unknown:
            logger.info("hibachi %s: fewer than two recent settlements, interval %g h "
                        "(the venue's other contracts)", symbol, fallback)
        return known | dict.fromkeys(unknown, fallback)

    def _probe(self, symbol: str) -> float | None:
        """The interval of the contract's latest settlement (None: fewer than two recent)."""
        now = self.http.exchange_now()
        events = self._history(symbol, int((now - PROBE_WINDOW).timestamp()),
                               int(now.timestamp()))
        if len(events) < 2:
            return None
        return events[-1].funding_interval_hours

    def fetch_history(
        self, contract: Contract, start: datetime, end: datetime
    ) -> list[FundingEvent]:
        """As the base, from `LEAD` earlier, so that the first row in range has the settlements
        before it to measure its interval by."""
        events = infer_intervals(super().fetch_history(contract, start - self.history_lead, end))
        return [e for e in events if e.funding_time >= start]

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """The oldest rows in [`startTime`, `endTime`] (seconds, inclusive)."""
        return self._history(contract.symbol, query.first, query.last)

    def _history(self, symbol: str, first: int, last: int) -> list[FundingEvent]:
        params = {"symbol": symbol, "startTime": first, "endTime": last,
                  "limit": self.history_page_size, "offset": 0}
        return parse_history(self.http.get_json(HISTORY, params), symbol)
