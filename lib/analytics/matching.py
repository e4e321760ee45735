"""Which contracts pair across venues, and the stored pairs the spread series is kept for.

Two contracts pair when they are on different exchanges and have the same canonical base asset:
the base with its multiplier removed (1000PEPE on Binance, kPEPE on Hyperliquid and PEPE on OKX
all have base PEPE) and aliases applied (XBT is BTC), compared exactly, so ETH never matches
ETHFI. Legs quoted or settled in different currencies (USDT, USDC, USD) pair too, and are
labelled. Rates stay per contract: a funding rate is a fraction of notional, so the multiplier
changes prices and sizes, never the rate. A pair's legs are ordered by exchange name (leg a
first), which gives each pair one identity.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, and_, delete, exists, func, literal, select, true, update

from lib.storage.schema import (
    UTCDateTime,
    arbitrage_legs,
    arbitrage_pairs,
    arbitrage_spread_statistics,
    contracts,
)
from lib.storage.sqlfunctions import dialect_insert

logger = logging.getLogger(__name__)

T = TypeVar("T")


def pairs_by_base(legs: Iterable[T], base: Callable[[T], str | None],
                  exchange: Callable[[T], str]) -> Iterator[tuple[T, T]]:
    """Every pair of legs with the same base on different exchanges, leg a first by exchange."""
    groups: dict[str, list[T]] = defaultdict(list)
    for leg in legs:
        key = base(leg)
        if key:
            groups[key].append(leg)
    for members in groups.values():
        members.sort(key=exchange)
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if exchange(a) != exchange(b):
                    yield a, b


def settlement_label(quote_a: str | None, settle_a: str | None, quote_b: str | None,
                     settle_b: str | None) -> str:
    """How a pair settles: "USDT" when both legs agree, else both, e.g. "USDT|USDC"."""
    a = settle_a or quote_a or "?"
    b = settle_b or quote_b or "?"
    return a if a == b else f"{a}|{b}"


@dataclass(frozen=True)
class PairSync:
    """What `sync_pairs` changed."""

    legs_added: int
    pairs_added: int
    pairs_removed: int
    pairs: int


def sync_pairs(conn: Connection, now: datetime) -> PairSync:
    """Bring the stored legs and pairs up to date with `contracts`, set-based.

    A leg is a contract whose base is listed on two or more exchanges; a base that changed
    (a better symbol rule) moves its leg, and pairs whose legs no longer share a base are
    removed with their statistics. A leg keeps its hourly series whatever it pairs with.
    """
    c, legs, pairs = contracts, arbitrage_legs, arbitrage_pairs
    shared = select(c.c.base).group_by(c.c.base).having(func.count(c.c.exchange.distinct()) > 1)
    # ids in (exchange, symbol) order: the series builder reads history in that order
    new_legs = select(c.c.exchange, c.c.symbol, c.c.base, literal(now, UTCDateTime())).where(
        c.c.base.in_(shared)).order_by(c.c.exchange, c.c.symbol)
    insert_legs = dialect_insert(conn, legs).from_select(
        ["exchange", "symbol", "base", "created_at"], new_legs).on_conflict_do_nothing()
    legs_added = int(conn.execute(insert_legs).rowcount or 0)
    stored_base = (select(c.c.base).where(c.c.exchange == legs.c.exchange,
                                          c.c.symbol == legs.c.symbol).scalar_subquery())
    conn.execute(update(legs).where(exists().where(
        c.c.exchange == legs.c.exchange, c.c.symbol == legs.c.symbol, c.c.base != legs.c.base,
    )).values(base=stored_base))

    a, b = legs.alias("a"), legs.alias("b")
    matched = select(a.c.leg_id, b.c.leg_id, a.c.base, literal(now, UTCDateTime())).join_from(
        a, b, and_(a.c.base == b.c.base, a.c.exchange < b.c.exchange)).where(true()).order_by(
        a.c.leg_id, b.c.leg_id)
    insert_pairs = dialect_insert(conn, pairs).from_select(
        ["leg_a", "leg_b", "base", "created_at"], matched).on_conflict_do_nothing()
    pairs_added = int(conn.execute(insert_pairs).rowcount or 0)
    still_matched = exists().where(
        a.c.leg_id == pairs.c.leg_a, b.c.leg_id == pairs.c.leg_b,
        a.c.base == b.c.base, a.c.base == pairs.c.base,
    )
    removed = int(conn.execute(delete(pairs).where(~still_matched)).rowcount or 0)
    if removed:
        logger.info("%d pairs removed: their legs no longer share a base asset", removed)
        stats = arbitrage_spread_statistics
        conn.execute(delete(stats).where(stats.c.pair_id.not_in(select(pairs.c.pair_id))))
    total = int(conn.execute(select(func.count()).select_from(pairs)).scalar_one())
    return PairSync(legs_added, pairs_added, removed, total)
