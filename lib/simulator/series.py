"""Deterministic per-contract funding series, generated lazily in blocks and cached in an LRU.

A contract's rates are an AR(1) random walk on its absolute settlement grid.  The grid is cut
into blocks of BLOCK_HOURS; each block's walk is seeded only by (contract key, block number),
so the value of a settlement depends on nothing else: not on when it is asked, not on the
simulator's start time, not on what else is cached.  Evicting and regenerating a block gives
the same numbers.
"""

from __future__ import annotations

import hashlib
import random
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

MASK64 = (1 << 64) - 1
BLOCK_HOURS = 2048  # ~85 days of settlements per block, whatever the interval
PHI = 0.85  # AR(1) persistence per settlement


def stable_hash(*parts: object) -> int:
    """64-bit hash of the parts that is stable across processes (unlike hash())."""
    text = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def mix(a: int, b: int) -> int:
    """splitmix64 of two integers: a cheap, well-spread per-(contract, index) hash."""
    z = (a ^ ((b + 0x9E3779B97F4A7C15) * 0xBF58476D1CE4E5B9)) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def unit(a: int, b: int) -> float:
    """Uniform float in [0, 1) derived from mix(a, b)."""
    return (mix(a, b) >> 11) / float(1 << 53)


@dataclass(frozen=True)
class SeriesSpec:
    """What a contract's funding walk looks like; all rates per funding interval."""

    key: int
    interval_hours: int
    decimals: int  # the venue's precision; values are stored already rounded to it
    jitter: tuple[int, int, float] = (0, 0, 0.0)  # (min ms, max ms, share stamped exactly)
    missing_per_mille: int = 5

    @property
    def block_size(self) -> int:
        return BLOCK_HOURS // self.interval_hours


class Point(NamedTuple):
    """One generated settlement: rate, missing at the exchange?, reporting delay in ms."""

    rate: float
    missing: bool
    jitter_ms: int


class _Block:
    __slots__ = ("jitter", "missing", "values")

    def __init__(self) -> None:
        self.values = array("d")
        self.missing = array("b")
        self.jitter = array("i")


class SeriesCache:
    """Bounded LRU of generated blocks; thread-safe."""

    def __init__(self, max_blocks: int = 1000) -> None:
        self._max = max_blocks
        self._cache: OrderedDict[tuple[int, int], _Block] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._cache)

    def rate(self, spec: SeriesSpec, index: int) -> float:
        """Rate settled at absolute grid index `index`."""
        return self.points(spec, index, index)[0].rate

    def points(self, spec: SeriesSpec, lo: int, hi: int) -> list[Point]:
        """Settlements for absolute grid indices lo..hi inclusive."""
        size = spec.block_size
        out: list[Point] = []
        for block_no in range(lo // size, hi // size + 1):
            block = self._block(spec, block_no)
            a = max(lo - block_no * size, 0)
            b = min(hi - block_no * size, size - 1) + 1
            out.extend(map(Point, block.values[a:b], map(bool, block.missing[a:b]),
                           block.jitter[a:b]))
        return out

    def _block(self, spec: SeriesSpec, block_no: int) -> _Block:
        cache_key = (spec.key, block_no)
        with self._lock:
            block = self._cache.get(cache_key)
            if block is not None:
                self._cache.move_to_end(cache_key)
                return block
        block = _generate(spec, block_no)  # outside the lock: pure function of its inputs
        with self._lock:
            self._cache[cache_key] = block
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return block


def _level(spec: SeriesSpec) -> float:
    """The contract's long-run mean: mostly the 0.01 %/8 h baseline, some persistently off it."""
    rng = random.Random(spec.key)
    scale = spec.interval_hours / 8.0
    return 0.0001 * scale if rng.random() < 0.7 else rng.gauss(0.00005, 0.0002) * scale


def _generate(spec: SeriesSpec, block_no: int) -> _Block:
    """One block of the walk, started from the stationary distribution around the level."""
    scale = spec.interval_hours / 8.0
    base = 0.0001 * scale
    cap = 0.00375 * scale
    level = _level(spec)
    sigma = 0.00004 * scale
    rng = random.Random(mix(spec.key, block_no))
    x = level + rng.gauss(0.0, sigma / (1 - PHI * PHI) ** 0.5)
    block = _Block()
    for _ in range(spec.block_size):
        x = level + PHI * (x - level) + rng.gauss(0.0, sigma)
        if rng.random() < 0.004:  # occasional spikes up to ±0.3 % per 8 h
            x += rng.choice((-1.0, 1.0)) * rng.uniform(0.0008, 0.003) * scale
        x = max(-cap, min(cap, x))
        shown = base if abs(x - base) < 0.00002 * scale else x  # baseline is sticky
        block.values.append(quantize(shown, spec.decimals))
        block.missing.append(rng.random() * 1000 < spec.missing_per_mille)
        block.jitter.append(_jitter(rng, spec.jitter))
    return block


def _jitter(rng: random.Random, spec: tuple[int, int, float]) -> int:
    lo, hi, exact = spec
    u = rng.random()
    if hi == 0 or u < exact:
        return 0
    return lo + int((u - exact) / (1 - exact) * (hi - lo + 1))


def quantize(value: float, decimals: int) -> float:
    """Round to the venue's printed precision so that string ↔ float round-trips exactly."""
    out = float(f"{value:.{decimals}f}")
    return 0.0 if out == 0 else out
