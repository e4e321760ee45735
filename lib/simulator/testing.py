"""`running_simulator`: a simulator on a free port for the length of a `with` block;
`simulator_process`: the same in a child process, for benchmarks."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

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


class RemoteSimulator:
    """A simulator serving from a child process (see `simulator_process`): its URL and its
    request counts, asked over a pipe."""

    def __init__(self, pipe: Connection, url: str) -> None:
        self.pipe, self.url = pipe, url

    def reset_counts(self) -> None:
        self.pipe.send("reset")
        self.pipe.recv()

    def request_counts(self) -> dict[str, int]:
        self.pipe.send("counts")
        counts: dict[str, int] = self.pipe.recv()
        return counts


def _serve(config: SimulatorConfig, pipe: Connection) -> None:
    with running_simulator(config) as sim:
        pipe.send(sim.url)
        while (command := pipe.recv()) != "stop":
            if command == "reset":
                sim.reset_counts()
                pipe.send(None)
            else:
                pipe.send(sim.request_counts())


@contextmanager
def simulator_process(config: SimulatorConfig) -> Iterator[RemoteSimulator]:
    """A simulator in a process of its own, as a remote exchange is: in a benchmark's process
    its JSON work would compete with the client's for one interpreter lock, and a measurement
    would time the simulator as much as the client."""
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(config, theirs), daemon=True)
    process.start()
    try:
        if not ours.poll(120):
            raise RuntimeError("the simulator process did not start")
        yield RemoteSimulator(ours, ours.recv())
    finally:
        ours.send("stop")
        process.join(10)
