"""Exchange simulator: a real HTTP server on 127.0.0.1 serving exchanges' public funding APIs.

One module per exchange in `venues/` (the registry `VENUES`, found by scanning that package;
`EXCHANGES` are their ids), each declaring its facts as class attributes: what the universe
lists on it, naming, rate precision, jitter, rate limits. Paths are
`http://127.0.0.1:PORT/<exchange>/<the exchange's real path>`; today binance (USD-M fapi),
bybit (v5 linear), okx (SWAP), bitget (mix v2 USDT-FUTURES), gate (futures usdt, under
/api/v4), kucoin (KuCoin Futures; also the UTA /api/ua/v2 funding list),
hyperliquid (POST /info), dydx (v4 indexer, under /v4), lighter (/api/v1, markets by id) and
pacifica (/api/v1).  Shapes, units, page limits, sort orders, parameter errors and rate limits
follow ../shared/exchange-apis.md (and exchange-apis-more.md); data is
deterministic from the seed.  Nothing here imports lib.exchanges (adapters, HTTP, symbol
rules): the two are written independently so that each checks the other.

Programmatic use (tests, benchmarks)::

    from lib.simulator import SimulatorConfig, running_simulator, Universe

    with running_simulator(SimulatorConfig(seed=42, faults=None, time_scale=1.0,
                                           total_contracts=2300, now=None)) as sim:
        sim.url                 # "http://127.0.0.1:<free port>"
        sim.universe            # ground truth: Universe
        sim.request_counts()    # {exchange: requests served}; sim.reset_counts()
        sim.set_faults("error_rate=0.1")   # or a FaultConfig / dict / None (= no faults)
        sim.reset_rate_limits() # forget rate-limit windows and Binance bans

`SimulatorConfig.faults` accepts "latency=200ms,error_rate=0.05,malformed_rate=0.01,
timeout_rate=0.01,empty_rate=0.01", a dict of the same names, or a FaultConfig.
`time_scale` makes simulated time and every rate-limit window run that many times faster.
`now` (aware datetime) pins the simulated clock's start; None = the real current time.

Ground truth (`Universe`), in neutral names:
    universe.contracts(exchange, include_prelaunch=False) -> list[Contract]   (perpetuals)
    universe.instruments(exchange) -> list[Contract]   (+ delivery, pre-launch, delisted)
    universe.contract(exchange, symbol) -> Contract
        .symbol .base .asset .quote .settle .multiplier .interval_hours .listed_at .status
        .kind .contract_size .delivery_at
    universe.settlements(exchange, symbol, start, end) -> list[(funding_time, rate)]
        scheduled UTC settlement times the exchange has (excluding the ones it is missing)
    universe.missing_settlements(exchange, symbol, start, end) -> list[datetime]
    universe.interval_at(exchange, symbol, when) -> int   (the interval that settlement closed:
        a venue's `interval_change` gives its contracts an older interval up to `changed_at_ms`,
        e.g. Hibachi 8 h until 12.5 days before the clock's start, hourly since)
    universe.current(exchange, symbol, at=None) -> Snapshot(rate, next_funding_time,
        interval_hours, mark_price, index_price, open_interest, volume_24h)
    universe.now() -> datetime (simulated clock)

The current rate of a running interval equals the rate history shows once it settles (OKX:
realizedRate).  Reported settlement times carry venue-style jitter (Binance a few ms,
Hyperliquid tens of ms, dYdX up to ~2.5 s); ground truth uses the scheduled time.

CLI: python -m lib.simulator --port 8900 --seed 42 [--faults ...] [--time-scale 10]
     [--contracts 2300] [--now 2026-01-01T00:00:00Z]
"""

from lib.simulator.config import FaultConfig, SimClock, SimulatorConfig
from lib.simulator.contracts import Contract, Snapshot
from lib.simulator.server import Simulator, SimulatorServer
from lib.simulator.testing import running_simulator
from lib.simulator.universe import Universe
from lib.simulator.venues import EXCHANGES, VENUES

__all__ = [
    "EXCHANGES",
    "VENUES",
    "Contract",
    "FaultConfig",
    "SimClock",
    "Simulator",
    "SimulatorConfig",
    "SimulatorServer",
    "Snapshot",
    "Universe",
    "running_simulator",
]
