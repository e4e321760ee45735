"""Every adapter against the simulator: listing, snapshot, history pages and ends, faults, 429.

One suite for every registered exchange, so a new exchange is tested by it the day it is added
(STYLE.md). What differs between venues is data: `LIVE`, keyed by exchange id, holds what each
adapter does on `live_simulator()` (seed 7, 300 contracts): requests per listing, the extras a
snapshot carries, the funding intervals listed, history cases with their request counts and
the fault test's settings. The fewest snapshot requests are the simulated venue's own fact
(`snapshot_requests`), page sizes the adapter's. An exchange without an entry fails
`test_every_exchange_has_live_facts`, naming it. A venue quirk that data cannot express has its
own test in tests/exchanges/test_<id>_live.py (Bybit's instrument cursor, Bitget's page guess).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from simulator_checks import (
    check_contracts,
    check_current,
    check_exact_ends,
    check_history,
    check_history_under_faults,
    history_contract,
    history_contracts,
    live_simulator,
)

from config.settings import SUPPORTED_EXCHANGES
from lib.simulator import VENUES
from lib.simulator.server import SimulatorServer

HOURLY_TO_8H = frozenset({1.0, 4.0, 8.0})


@dataclass(frozen=True)
class Pages:
    """fetch_history of the `interval`-hour history contract over `days`, ending
    `offset_hours` after its last settled row, takes `requests` requests."""

    interval: int
    days: float
    offset_hours: float
    requests: int


@dataclass(frozen=True)
class Faults:
    """The fault test: the simulator's `time_scale` (rate-limit windows last about a second),
    `days` of history (several pages), `window`, the simulator's rate-limit window the history
    request is counted in, and `hammer`, a request that meets the 429 before the adapter does;
    None only fills the windows (for a venue that bans a client sending during a 429). Both
    may name the contract as `{symbol}`."""

    time_scale: float
    days: float
    window: str
    hammer: tuple[str, str, dict[str, object] | None] | None
    page_size: int | None = None  # a smaller history page, where one page holds it all


@dataclass(frozen=True)
class Live:
    """What one adapter does on the simulator (see the module docstring)."""

    intervals: frozenset[float]  # funding intervals listed, all with 120 days of history
    extras: tuple[str, ...]  # snapshot fields set and positive besides the rate
    pages: tuple[Pages, ...]
    faults: Faults
    contract_requests: int = 1
    listed_unit: timedelta = timedelta(milliseconds=1)  # precision of listing times
    decoys: bool = True  # the simulator lists pre-launch, delivery or delisted contracts too


PRICES_OI_VOLUME = ("mark_price", "index_price", "open_interest", "volume_24h")

LIVE: dict[str, Live] = {
    "aster": Live(
        contract_requests=2,  # exchangeInfo + fundingInfo
        intervals=frozenset({1.0, 2.0, 4.0, 8.0}),
        extras=("mark_price", "index_price"),
        # forward from startTime, 1000 a page: 85 days of 2 h = 1020 rows = 2 pages
        pages=(Pages(1, 85, 0.5, 3), Pages(1, 20, 0, 1), Pages(2, 85, 1, 2)),
        # 2400 weight a minute; time_scale 60 makes it a second. Like Binance it bans a client
        # sending during a 429, so the windows are only filled
        faults=Faults(60, 60, "aster:weight", hammer=None),
    ),
    "backpack": Live(
        intervals=frozenset({1.0}),  # hourly on every perpetual
        extras=("mark_price", "index_price", "open_interest"),
        # newest first by offset, 1000 a page: 85 days = 2040 rows = 3 pages; a month ending
        # 20 days back starts at an offset estimated from the interval and takes one page
        pages=(Pages(1, 85, 0.5, 3), Pages(1, 10, 0, 1), Pages(1, 30, -20 * 24, 1)),
        # 2000 requests a minute; time_scale 60 makes it a second
        faults=Faults(60, 60, "backpack:ip", (
            "GET", "/api/v1/fundingRates?symbol={symbol}&limit=1", None,
        )),
    ),
    "binance": Live(
        contract_requests=2,  # exchangeInfo + fundingInfo
        intervals=HOURLY_TO_8H,
        extras=("mark_price", "index_price"),
        pages=(Pages(1, 85, 0.5, 3), Pages(1, 20, 0, 1)),  # forward from startTime, 1000 a page
        # fundingRate shares 500 requests per 5 min with fundingInfo: with that window full,
        # the first page waits its Retry-After (sending during it would earn a 418 ban)
        faults=Faults(60, 60, "binance:funding", hammer=None),
    ),
    "bitget": Live(
        intervals=HOURLY_TO_8H,
        extras=PRICES_OI_VOLUME,
        # page numbers from now, 100 a page: a range a month back starts on a later page
        pages=(Pages(1, 5, -30 * 24, 2), Pages(1, 12, 0.5, 3)),
        faults=Faults(10, 20, "bitget:/api/v2/mix/market/history-fund-rate", (
            "GET", "/api/v2/mix/market/history-fund-rate?productType=USDT-FUTURES"
                   "&symbol={symbol}&pageSize=1", None,
        )),
    ),
    "bybit": Live(
        intervals=HOURLY_TO_8H,
        extras=PRICES_OI_VOLUME,
        pages=(Pages(1, 30, 0.5, 4), Pages(1, 8, 0, 1)),  # backward from endTime, 200 a page
        # 600 requests per 5 s per IP: time_scale 2 keeps the window longer than a retry
        faults=Faults(2, 40, "bybit:ip", (
            "GET", "/v5/market/funding/history?category=linear&symbol={symbol}&limit=1", None,
        )),
    ),
    "dydx": Live(
        decoys=False,  # the simulator lists no dYdX decoys
        intervals=frozenset({1.0}),  # hourly venue
        extras=("open_interest",),
        # 85 days hourly = 2040 rows = 3 pages of 1000, backward by effectiveBeforeOrAt
        pages=(Pages(1, 85, 0.5, 3), Pages(1, 10, 0, 1)),
        faults=Faults(10, 60, "dydx:get", ("GET", "/v4/time", None)),
    ),
    "deribit": Live(
        intervals=frozenset({1.0}),  # hourly rows of a continuous accrual
        extras=PRICES_OI_VOLUME,
        # windows of 744 hours walked back from the end: 85 days = 3, 40 days = 2
        pages=(Pages(1, 85, 0.5, 3), Pages(1, 40, 0, 2), Pages(1, 10, 0, 1)),
        # time_scale 5: the 100-requests-per-5-s window lasts a second
        faults=Faults(5, 60, "deribit:ip", ("GET", "/api/v2/public/get_time", None)),
    ),
    "gate": Live(
        listed_unit=timedelta(seconds=1),  # Gate lists in seconds
        intervals=HOURLY_TO_8H,
        extras=("open_interest",),
        pages=(Pages(1, 85, 0.5, 3),),  # backward from `to`, 1000 a page
        faults=Faults(10, 60, "gate:funding_rate", (
            "GET", "/api/v4/futures/usdt/funding_rate?contract={symbol}&limit=1", None,
        )),
    ),
    "hyperliquid": Live(
        intervals=frozenset({1.0}),  # hourly venue
        extras=("open_interest",),
        # 85 days hourly = 2040 rows = 5 pages of 500, forward from startTime
        pages=(Pages(1, 85, 0.5, 5), Pages(1, 10, 0, 1)),
        # time_scale 60: the 1200-weight minute becomes one second
        faults=Faults(60, 60, "hyperliquid:ip", ("POST", "/info", {"type": "meta"})),
    ),
    "kucoin": Live(
        intervals=frozenset({4.0, 8.0}),  # at 300 contracts its few hourly ones are left out
        extras=("open_interest",),
        pages=(Pages(8, 85, 0.5, 3),),  # 85 days of 8 h = 255 rows = 3 pages of 100
        # time_scale 30: KuCoin's 30 s weight pool refills every simulated second
        faults=Faults(30, 60, "kucoin:public", (
            "GET", "/api/v1/contract/funding-rates?symbol={symbol}&from=0&to=1", None,
        )),
    ),
    "mexc": Live(
        contract_requests=2,  # detail + funding_rate (the intervals)
        intervals=HOURLY_TO_8H,
        extras=PRICES_OI_VOLUME,
        # page numbers from now, 1000 a page: 85 days hourly = 3 pages; a range a month back
        # starts on page 1 and reaches page 2
        pages=(Pages(1, 85, 0.5, 3), Pages(1, 50, -30 * 24, 2), Pages(8, 85, 0, 1)),
        # time_scale 2: the 2 s window of 20 requests lasts a second
        faults=Faults(2, 60, "mexc:/api/v1/contract/funding_rate/history", (
            "GET", "/api/v1/contract/funding_rate/history?symbol={symbol}&page_size=1", None,
        )),
    ),
    "lighter": Live(
        intervals=frozenset({1.0}),  # hourly venue
        extras=PRICES_OI_VOLUME,  # from orderBookDetails, the snapshot's second request
        # forward from start_timestamp (seconds), 750 rows a reply: 85 days hourly = 3 pages
        pages=(Pages(1, 85, 0.5, 3), Pages(1, 20, 0, 1)),
        # time_scale 60: the 60-request minute becomes one second
        faults=Faults(60, 60, "lighter:ip", ("GET", "/api/v1/funding-rates", None)),
    ),
    "okx": Live(
        contract_requests=2,  # instruments + funding-rate ANY (the intervals)
        intervals=HOURLY_TO_8H,
        extras=("mark_price", "open_interest"),
        # backward with realized rates, 400 a page
        pages=(Pages(1, 35, 0.5, 3), Pages(1, 16, 0, 1)),
        faults=Faults(10, 60, "okx:/api/v5/public/funding-rate-history:{symbol}", (
            "GET", "/api/v5/public/funding-rate-history?instId={symbol}&limit=1", None,
        )),
    ),
    "hibachi": Live(
        contract_requests=4,  # exchange-info + one settlement probe per contract (3 here)
        intervals=frozenset({1.0}),  # hourly now (8 h before the change 12.5 days ago)
        extras=PRICES_OI_VOLUME,
        # forward from startTime (s), 100 a page, from 16 h before start (the interval lead):
        # 10 days = 240 + 16 rows; 30 days cross the 8 h -> 1 h change
        pages=(Pages(1, 10, 0, 3), Pages(1, 30, 0.5, 4)),
        # our 240 requests a minute: time_scale 60 makes the window a second
        faults=Faults(60, 20, "hibachi:ip", (
            "GET", "/market/data/funding-rates?symbol={symbol}&limit=1", None,
        )),
    ),
    "drift": Live(
        intervals=frozenset({1.0}),  # hourly venue
        extras=PRICES_OI_VOLUME,
        # numbered pages of 750, newest first from now
        pages=(Pages(1, 10, 0, 1), Pages(1, 40, 0.5, 2)),
        # our 120 requests a minute: time_scale 60 makes the window a second
        faults=Faults(60, 40, "drift:ip", ("GET", "/market/{symbol}/fundingRates?limit=1", None)),
    ),
    "pacifica": Live(
        decoys=False,  # its spot pairs are the venue's own rows, not universe instruments
        intervals=frozenset({1.0}),  # hourly venue
        extras=PRICES_OI_VOLUME,
        # newest first from now, no time filter: 4000 rows a page hold all 90 simulated days,
        # and the first page asks only as many rows as reach back to the start
        pages=(Pages(1, 85, 0.5, 1), Pages(1, 10, 0, 1)),
        # time_scale 60: the 125-credit minute becomes one second; 500-row pages for the test
        faults=Faults(60, 60, "pacifica:credits", ("GET", "/api/v1/info/prices", None),
                      page_size=500),
    ),
}


def live(exchange: str) -> Live:
    """The exchange's entry in LIVE; a registered exchange without one fails, named."""
    if exchange not in LIVE:
        pytest.fail(f"{exchange}: no entry in LIVE in tests/exchanges/test_adapters_live.py")
    return LIVE[exchange]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with live_simulator() as server:
        yield server


def test_every_exchange_has_live_facts() -> None:
    lacking = [e for e in SUPPORTED_EXCHANGES if e not in LIVE]
    assert not lacking, f"registered exchanges without an entry in LIVE: {', '.join(lacking)}"
    stale = sorted(set(LIVE) - set(SUPPORTED_EXCHANGES))
    assert not stale, f"LIVE entries for unregistered exchanges: {', '.join(stale)}"


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_contracts(sim: SimulatorServer, exchange: str) -> None:
    facts = live(exchange)
    check_contracts(sim, exchange, facts.contract_requests, intervals=set(facts.intervals),
                    listed_unit=facts.listed_unit, decoys=facts.decoys)


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_current_in_the_fewest_requests(sim: SimulatorServer, exchange: str) -> None:
    check_current(sim, exchange, VENUES[exchange].snapshot_requests, extras=live(exchange).extras)


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_history_every_interval(sim: SimulatorServer, exchange: str) -> None:
    symbols = history_contracts(sim, exchange)
    listed = [sim.universe.contract(exchange, s).interval_hours for s in symbols]
    assert set(listed) == live(exchange).intervals
    for symbol in symbols:
        check_history(sim, exchange, symbol, days=30)


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_history_pages(sim: SimulatorServer, exchange: str) -> None:
    for case in live(exchange).pages:
        symbol = history_contract(sim, exchange, case.interval)
        assert check_history(sim, exchange, symbol, case.days, case.offset_hours) == (
            case.requests
        ), case


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_history_exact_ends(sim: SimulatorServer, exchange: str) -> None:
    for symbol in history_contracts(sim, exchange):
        check_exact_ends(sim, exchange, symbol)


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_history_survives_faults_and_a_429(
    exchange: str, caplog: pytest.LogCaptureFixture
) -> None:
    """5xx, truncated JSON and read timeouts are retried; the first page meets a 429 and
    waits its Retry-After; no venue bans the client (Binance: a 418)."""
    faults = live(exchange).faults
    with live_simulator(faults.time_scale) as sim:
        symbol = history_contracts(sim, exchange)[0]
        hammer = None
        if faults.hammer is not None:
            method, path, body = faults.hammer
            hammer = (method, path.format(symbol=symbol), body)
        keys, answers = check_history_under_faults(
            sim, exchange, symbol, faults.time_scale, faults.days, hammer=hammer, caplog=caplog,
            page_size=faults.page_size,
        )
    assert faults.window.format(symbol=symbol) in keys, keys
    assert not any('" 418 ' in m for m in answers)
