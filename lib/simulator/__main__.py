"""`python -m lib.simulator`: run the exchange simulator until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import UTC, datetime

from lib.simulator.config import SimulatorConfig
from lib.simulator.server import SimulatorServer

logger = logging.getLogger("lib.simulator")


def _parse_now(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lib.simulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8900)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--faults", default="", help="e.g. latency=200ms,error_rate=0.05")
    p.add_argument("--time-scale", type=float, default=1.0)
    p.add_argument("--contracts", type=int, default=2300)
    p.add_argument("--now", type=_parse_now, default=None, help="ISO start of simulated time")
    p.add_argument("--log-level", default="INFO")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(message)s")
    try:
        config = SimulatorConfig(seed=args.seed, faults=args.faults or None,
                                 time_scale=args.time_scale, total_contracts=args.contracts,
                                 now=args.now, host=args.host, port=args.port)
        config.fault_config()
        server = SimulatorServer(config)
    except (ValueError, OSError) as e:
        print(f"simulator: {e}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    count = sum(len(server.universe.contracts(e)) for e in server.universe.exchanges)
    logger.info("exchange simulator listening on %s (seed %d, %d contracts)", server.url,
                args.seed, count)
    stop.wait()
    server.stop()
    logger.info("exchange simulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
