"""Ground truth: the simulated contracts, their settlement schedules and funding rates.

Neutral names only (no exchange field names): venues translate this into each exchange's JSON,
tests compare what adapters/ccxt parse against it.  Settlements sit on the absolute UTC grid
(multiples of the interval since the epoch); history reaches HISTORY_DAYS back from the clock's
start; rates are generated lazily per contract (see series.py).
"""

from __future__ import annotations

import math
import random
from datetime import datetime

from lib.simulator import assets as assetlib
from lib.simulator.config import SimClock, dt_to_ms, ms_to_dt
from lib.simulator.contracts import DAY_MS, HOUR_MS, Contract, Row, Snapshot
from lib.simulator.series import SeriesCache, SeriesSpec, quantize, stable_hash, unit
from lib.simulator.venues import EXCHANGES, VENUES
from lib.simulator.venues.base import Venue

__all__ = ["DAY_MS", "HISTORY_DAYS", "HOUR_MS", "Contract", "Row", "Snapshot", "Universe"]

HISTORY_DAYS = 90
MISSING_PER_MILLE = 5  # ~0.5 % of settlements absent at the exchange itself
# Venues' `default_size` is their count in a universe of this many contracts (the eight first
# venues sum to it). `total_contracts` scales every venue by total / SIZES_AT, so adding a
# venue leaves every other venue's contracts, and so its recorded replies, as they were.
SIZES_AT = 2300


class Universe:
    """Deterministic contracts + rates for all venues; see the package docstring."""

    def __init__(
        self,
        seed: int = 42,
        total_contracts: int = 2300,
        clock: SimClock | None = None,
        now: datetime | None = None,
        cache_blocks: int = 1000,
    ) -> None:
        self.seed = seed
        self.clock = clock or SimClock(now)
        self.window_start_ms = self.clock.start_ms - HISTORY_DAYS * DAY_MS
        self._series = SeriesCache(cache_blocks)
        # (contract key, grid index) -> rate for the running intervals bulk endpoints ask for,
        # so polling every venue does not regenerate every series through the LRU
        self._current_memo: dict[tuple[int, int], float] = {}
        self._instruments: dict[str, list[Contract]] = {}
        self._by_symbol: dict[tuple[str, str], Contract] = {}
        _build(self, total_contracts)

    # ----- catalogue ---------------------------------------------------------------------------
    @property
    def exchanges(self) -> tuple[str, ...]:
        return EXCHANGES

    def contracts(self, exchange: str, include_prelaunch: bool = False) -> list[Contract]:
        """Perpetuals an adapter should collect (trading; optionally also pre-launch)."""
        wanted = {"trading", "prelaunch"} if include_prelaunch else {"trading"}
        return [
            c for c in self._instruments[exchange] if c.kind == "perpetual" and c.status in wanted
        ]

    def instruments(self, exchange: str) -> list[Contract]:
        """Everything the venue lists, including delivery futures and pre-launch/delisted."""
        return list(self._instruments[exchange])

    def contract(self, exchange: str, symbol: str) -> Contract:
        """Look up by native symbol; KeyError names the symbol."""
        try:
            return self._by_symbol[(exchange, symbol)]
        except KeyError:
            raise KeyError(f"{exchange}: unknown symbol {symbol!r}") from None

    def find(self, exchange: str, symbol: str) -> Contract | None:
        return self._by_symbol.get((exchange, symbol))

    def now(self) -> datetime:
        return self.clock.now()

    def cached_series(self) -> int:
        """How many series blocks (~85 days of one contract) are currently held in memory."""
        return len(self._series)

    # ----- ground truth (datetimes) -----------------------------------------------------------
    def settlements(
        self, exchange: str, symbol: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, float]]:
        """(scheduled funding time, rate) the exchange has between start and end inclusive."""
        c = self.contract(exchange, symbol)
        rows = self.rows(c, dt_to_ms(start), dt_to_ms(end), by_reported=False)
        return [(ms_to_dt(r.time_ms), r.rate) for r in rows]

    def missing_settlements(
        self, exchange: str, symbol: str, start: datetime, end: datetime
    ) -> list[datetime]:
        """Scheduled settlements in the range that happened but the exchange does not have."""
        out = []
        for c, lo_ms, hi_ms in self._segments(self.contract(exchange, symbol), dt_to_ms(start),
                                              dt_to_ms(end)):
            lo, hi = self._index_bounds(c, lo_ms, hi_ms)
            if hi < lo:
                continue
            points = self._series.points(self.spec(c), lo, hi)
            out += [ms_to_dt((lo + i) * c.interval_ms) for i, p in enumerate(points) if p.missing]
        return out

    def will_have(self, exchange: str, symbol: str, when: datetime) -> bool:
        """Whether the exchange has (or, for a future `when`, will have) the settlement
        scheduled at `when` on the contract's current grid: tests waiting for an instant
        know which settlements it brings."""
        c = self.contract(exchange, symbol)
        index = dt_to_ms(when) // c.interval_ms
        if c.kind != "perpetual" or index < self.first_index(c):
            return False
        return not self._series.points(self.spec(c), index, index)[0].missing

    def interval_at(self, exchange: str, symbol: str, when: datetime) -> int:
        """The interval of the settlement scheduled at `when` (it can change over time)."""
        return self.contract(exchange, symbol).interval_at(dt_to_ms(when))

    def current(self, exchange: str, symbol: str, at: datetime | None = None) -> Snapshot:
        """Rate of the running interval (what settles at next_funding_time), prices, OI."""
        c = self.contract(exchange, symbol)
        return self.snapshot(c, self.clock.now_ms() if at is None else dt_to_ms(at))

    # ----- fast helpers for the venues (ms) ---------------------------------------------------
    def now_ms(self) -> int:
        return self.clock.now_ms()

    def first_index(self, c: Contract) -> int:
        """Grid index of the first settlement the exchange keeps for this contract."""
        start = max(self.window_start_ms, c.listed_ms)
        if c.previous_interval_hours:  # the new grid starts after the last old settlement
            start = max(start, c.changed_at_ms + 1)
        return -(-start // c.interval_ms)

    def spec(self, c: Contract) -> SeriesSpec:
        venue = VENUES[c.exchange]
        return SeriesSpec(
            c.key, c.interval_hours, venue.rate_decimals, venue.jitter, MISSING_PER_MILLE,
        )

    def _index_bounds(self, c: Contract, lo_ms: int, hi_ms: int) -> tuple[int, int]:
        """Settled grid indices whose scheduled time lies in [lo_ms, hi_ms]."""
        if c.kind != "perpetual" or c.status == "prelaunch":
            return 0, -1
        step = c.interval_ms
        lo = max(self.first_index(c), -(-lo_ms // step))
        hi = min(self.clock.now_ms() // step, hi_ms // step)
        return lo, hi

    def rows(self, c: Contract, lo_ms: int, hi_ms: int, by_reported: bool = True) -> list[Row]:
        """Settlements the exchange has, ascending; bounds apply to the reported time if asked.
        A contract whose interval changed has its old grid's rows up to the change."""
        out: list[Row] = []
        for part, lo, hi in self._segments(c, lo_ms, hi_ms):
            out += self._grid_rows(part, lo, hi, by_reported)
        return out

    @staticmethod
    def _segments(c: Contract, lo_ms: int, hi_ms: int) -> list[tuple[Contract, int, int]]:
        """[lo, hi] cut where the contract's interval changed: (contract on that grid, lo, hi)."""
        if not c.previous_interval_hours:
            return [(c, lo_ms, hi_ms)]
        since = c.changed_at_ms
        out = []
        if lo_ms <= since:
            out.append((c.before_change(), lo_ms, min(hi_ms, since)))
        if hi_ms > since:
            out.append((c, max(lo_ms, since + 1), hi_ms))
        return out

    def _grid_rows(self, c: Contract, lo_ms: int, hi_ms: int, by_reported: bool) -> list[Row]:
        slack = 3000 if by_reported else 0
        lo, hi = self._index_bounds(c, lo_ms - slack, hi_ms)
        if hi < lo:
            return []
        points = self._series.points(self.spec(c), lo, hi)
        step = c.interval_ms
        out = []
        for k, p in enumerate(points, lo):
            if p.missing:
                continue
            t = k * step
            rep = t + p.jitter_ms
            if by_reported and not lo_ms <= rep <= hi_ms:
                continue
            out.append(Row(k, t, rep, p.rate))
        return out

    def next_index(self, c: Contract, at_ms: int) -> int:
        return at_ms // c.interval_ms + 1

    def rate_at_index(self, c: Contract, index: int) -> float:
        memo = self._current_memo.get((c.key, index))
        if memo is not None:
            return memo
        if c.kind != "perpetual" or c.status == "prelaunch":
            return quantize(0.0001 * c.interval_hours / 8, VENUES[c.exchange].rate_decimals)
        rate = self._series.rate(self.spec(c), index)
        if len(self._current_memo) > 20_000:
            self._current_memo.clear()
        self._current_memo[(c.key, index)] = rate
        return rate

    def snapshot(self, c: Contract, at_ms: int) -> Snapshot:
        k = self.next_index(c, at_ms)
        index_px = self.price(c, at_ms)
        mark_px = index_px * (1 + 0.0004 * math.sin(at_ms / 600_000 + c.key % 97))
        oi_usd = 4e9 / (c.rank + 2) ** 1.3 * (0.5 + unit(c.key, 1))
        oi = oi_usd / max(index_px, 1e-12)
        return Snapshot(
            rate=self.rate_at_index(c, k),
            next_funding_time=ms_to_dt(k * c.interval_ms),
            interval_hours=c.interval_hours,
            mark_price=mark_px,
            index_price=index_px,
            open_interest=oi,
            volume_24h=oi * (0.8 + 3 * unit(c.key, 2)),
        )

    def price(self, c: Contract, at_ms: int) -> float:
        """Smooth deterministic price of one venue `base` unit (multiplier applied)."""
        phase = (c.key >> 8) % 1000 / 159.0
        days = at_ms / DAY_MS
        wave = 0.04 * math.sin(days / 3 + phase) + 0.008 * math.sin(at_ms / 5_400_000 + phase)
        return c.ref_price * c.multiplier * math.exp(wave)


# ----- building the catalogue from the venues' facts -----------------------------------------
def _build(u: Universe, total: int) -> None:
    pool = assetlib.build_pool(u.seed, max(700, total // 3))
    scale = total / SIZES_AT
    for ex, venue in VENUES.items():
        rng = random.Random(stable_hash(u.seed, ex, "pick"))
        n = max(3, min(len(pool), round(venue.default_size * scale)))
        picked = _pick_assets(pool, n, rng)
        items = [_perpetual(u, venue, a, rng) for a in picked]
        items += _extras(u, venue, pool, picked, rng)
        u._instruments[ex] = items
        for c in items:
            u._by_symbol[(ex, c.symbol)] = c


def _pick_assets(pool: list[assetlib.Asset], n: int, rng: random.Random) -> list[assetlib.Asset]:
    """Top of the pool always, the rest weighted towards popular names (Efraimidis–Spirakis)."""
    forced = pool[: min(n, assetlib.ALWAYS_LISTED)]
    rest = pool[len(forced) :]
    keyed = sorted(rest, key=lambda a: -(rng.random() ** ((a.rank + 20) ** 0.8)))
    return forced + sorted(keyed[: n - len(forced)], key=lambda a: a.rank)


def _interval(venue: type[Venue], asset: assetlib.Asset, rng: random.Random) -> int:
    p8, p4, _ = venue.interval_mix
    if p8 > 0 and asset.rank < 3:
        return 8
    x = rng.random()
    hours = 8 if x < p8 else 4 if x < p8 + p4 else 1
    # venues with 2 h contracts (Aster) turn a share of their 4 h and 1 h ones into 2 h; drawn
    # from a hash, not `rng`, so every other venue's universe stays as it was
    two = venue.two_hour_share
    if hours != 8 and two > 0 and unit(stable_hash(venue.name, asset.name), 2) < two:
        return 2
    return hours


def _listed_at(u: Universe, asset: assetlib.Asset, rng: random.Random) -> datetime:
    start = u.clock.start_ms
    if asset.rank >= assetlib.ALWAYS_LISTED and rng.random() < 0.08:
        return ms_to_dt(start - int(rng.uniform(2, 88) * DAY_MS))  # listed inside the window
    return ms_to_dt(start - int(rng.uniform(100, 1500) * DAY_MS) // HOUR_MS * HOUR_MS)


def _perpetual(
    u: Universe, venue: type[Venue], asset: assetlib.Asset, rng: random.Random,
    status: str = "trading",
) -> Contract:
    ex = venue.name
    naming = venue.naming.name(asset.name, asset.price)
    listed = _listed_at(u, asset, rng)
    if status == "prelaunch":
        listed = ms_to_dt(u.clock.start_ms + int(rng.uniform(2, 6) * DAY_MS) // HOUR_MS * HOUR_MS)
    size = assetlib.contract_size(asset.price) if venue.lot_sized else 1.0
    change = venue.interval_change
    previous, changed_at = 0, 0
    if change is not None and status == "trading":
        step = change.previous_hours * HOUR_MS
        changed_at = (u.clock.start_ms - int(change.days_ago * DAY_MS)) // step * step
        previous = change.previous_hours if listed < ms_to_dt(changed_at) else 0
        changed_at = changed_at if previous else 0
    return Contract(
        exchange=ex, symbol=naming.symbol, base=naming.base, asset=asset.name,
        quote=naming.quote, settle=naming.settle, multiplier=naming.multiplier,
        interval_hours=_interval(venue, asset, rng), listed_at=listed, status=status,
        contract_size=size, ref_price=asset.price, rank=asset.rank,
        key=stable_hash(u.seed, ex, naming.symbol),
        previous_interval_hours=previous, changed_at_ms=changed_at,
    )


def _extras(
    u: Universe, venue: type[Venue], pool: list[assetlib.Asset], picked: list[assetlib.Asset],
    rng: random.Random,
) -> list[Contract]:
    """Decoys adapters must filter: pre-launch perps, dated futures, delisted coins."""
    taken = {a.name for a in picked}
    spare = [a for a in pool[len(pool) // 2 :] if a.name not in taken]
    out: list[Contract] = []
    if venue.prelaunch_listed:
        sample = rng.sample(spare, venue.prelaunch_listed)
        out += [_perpetual(u, venue, a, rng, "prelaunch") for a in sample]
    if venue.dated_futures is not None:
        rules = venue.dated_futures  # BTC this and next quarter, then ETH...
        out += [_delivery(u, venue, rules, pool[i // 2], i % 2 + 1) for i in range(rules.count)]
    if venue.delisted_listed:
        for a in rng.sample(spare, venue.delisted_listed):
            out.append(_perpetual(u, venue, a, rng, "delisted"))
    return out


def _delivery(
    u: Universe, venue: type[Venue], rules: assetlib.DeliveryRules, asset: assetlib.Asset,
    quarters: int,
) -> Contract:
    """A quarterly dated future (last Friday of the quarter, 08:00 UTC)."""
    at = _quarter_expiry(u.clock.start_ms, quarters)
    naming = rules.name(venue.naming.aliases.get(asset.name, asset.name), at)
    return Contract(
        exchange=venue.name, symbol=naming.symbol, base=naming.base, asset=asset.name,
        quote=naming.quote, settle=naming.settle, multiplier=1, interval_hours=8,
        listed_at=ms_to_dt(u.clock.start_ms - 60 * DAY_MS), status="trading", kind="delivery",
        delivery_at=at, ref_price=asset.price, rank=asset.rank,
        key=stable_hash(u.seed, venue.name, naming.symbol),
    )


def _quarter_expiry(start_ms: int, quarters: int) -> datetime:
    start = ms_to_dt(start_ms)
    month = ((start.month - 1) // 3 + quarters) * 3  # quarter-end month, may exceed 12
    year = start.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    nxt = datetime(year + (month == 12), month % 12 + 1, 1, 8, tzinfo=start.tzinfo)
    day = nxt.toordinal() - 1
    last = datetime.fromordinal(day).replace(hour=8, tzinfo=start.tzinfo)
    while last.weekday() != 4:
        last = datetime.fromordinal(last.toordinal() - 1).replace(hour=8, tzinfo=start.tzinfo)
    return last
