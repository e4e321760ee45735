"""`running_simulator`: a simulator on a free port for the length of a `with` block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lib.simulator.config import SimulatorConfig
from lib.simulator.server import SimulatorServer


@contextmanager
def running_simulator(config: SimulatorConfig | None = None) -> Iterator[SimulatorServer]:
    """Start a SimulatorServer (port 0 = any free port), yield it, always stop it."""
    server = SimulatorServer(config or SimulatorConfig()).start()
    try:
        yield server
    finally:
        server.stop()
