"""What start.py runs: one `ChildSpec` per supervised program, built from its options.

Each child is a program a user could run by hand (`scripts/collect_funding_rates.py
--continuous`, ...), so a child's behaviour never depends on being supervised. Long-running
children are restarted when they exit; one-shot children (the backfill) only when they fail.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

from lib.system.backfill import backfill_command
from lib.system.environment import PYTHON, SCRIPTS

SIMULATOR = "simulator"
COLLECTOR = "collector"
SPREADS = "spreads"
ZSCORES = "zscores"
API = "api"
BACKFILL = "backfill"
DEFAULT_SIMULATOR_CONTRACTS = 2300


@dataclass(frozen=True)
class Options:
    """start.py's flags."""

    simulate: bool = False
    backfill: bool = True
    api: bool = True
    exchanges: tuple[str, ...] | None = None
    simulator_port: int = 0  # 0: any free port
    simulator_contracts: int = DEFAULT_SIMULATOR_CONTRACTS


@dataclass(frozen=True)
class ChildSpec:
    """One supervised program: its name, command line and whether it is restarted."""

    name: str
    command: list[str]
    restart: bool = True
    env: dict[str, str] = field(default_factory=dict)

    @property
    def output_log(self) -> str:
        """The file (in LOG_DIR) that receives its stdout and stderr."""
        return f"{self.name}.output.log"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the simulator binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def simulator_child(port: int, contracts: int) -> ChildSpec:
    """The exchange simulator on 127.0.0.1:`port`."""
    return ChildSpec(SIMULATOR, [PYTHON, "-m", "lib.simulator", "--port", str(port),
                                 "--contracts", str(contracts)])


def service_children(options: Options) -> list[ChildSpec]:
    """The long-running children, in start order (the API last: it reads what they write)."""
    children = [
        ChildSpec(COLLECTOR, [PYTHON, str(SCRIPTS / "collect_funding_rates.py"), "--continuous"]),
        ChildSpec(SPREADS, [PYTHON, str(SCRIPTS / "collect_spread_history.py"), "--continuous"]),
        ChildSpec(ZSCORES, [PYTHON, str(SCRIPTS / "calculate_zscores.py"), "--continuous"]),
    ]
    if options.api:
        children.append(ChildSpec(API, [PYTHON, "-m", "lib.api"]))
    return children


def backfill_child(days: int, exchanges: Sequence[str] | None) -> ChildSpec:
    """The one-shot history backfill over `days` (restarted only when it fails)."""
    return ChildSpec(BACKFILL, backfill_command(days, exchanges), restart=False)
