"""What one refresh of the dashboard found, as plain data: the panels draw these, tests read
them. Each part carries its own `error` (one line), so one broken source (a corrupt runtime
file, an unreachable database) blanks one panel, never the whole screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ServiceRow:
    """One thing the system runs: its state ('running', 'stopped', 'down', ...) and detail."""

    name: str
    state: str
    detail: str = ""
    ok: bool = True  # drawn green when True, red when False


@dataclass(frozen=True)
class ServicesView:
    rows: list[ServiceRow] = field(default_factory=list)
    api_up: bool = False
    api_url: str = ""


# collection status of one exchange in the last cycle
OK, SLOW, TIMEOUT, ERROR = "OK", "SLOW", "TIMEOUT", "ERROR"


@dataclass(frozen=True)
class ExchangeCycle:
    exchange: str
    status: str  # OK, SLOW, TIMEOUT or ERROR
    contracts: int
    duration_ms: int
    error: str | None = None


@dataclass(frozen=True)
class CollectionView:
    last_cycle: datetime | None = None
    age_s: float | None = None  # seconds since the last cycle started
    next_in_s: float | None = None  # negative: overdue
    duration_ms: int | None = None
    exchanges: list[ExchangeCycle] = field(default_factory=list)
    interval_s: int = 30
    error: str | None = None

    @property
    def contracts(self) -> int:
        return sum(e.contracts for e in self.exchanges)

    @property
    def stale(self) -> bool:
        """No cycle for over two intervals: the collector is not running (or stuck)."""
        return self.age_s is None or self.age_s > 2 * self.interval_s


@dataclass(frozen=True)
class TableCount:
    name: str
    rows: int
    newest: datetime | None


@dataclass(frozen=True)
class DatabaseView:
    database: str = ""  # described, never with a password
    schema_version: int | None = None
    size_bytes: int | None = None
    tables: list[TableCount] = field(default_factory=list)
    error: str | None = None

    def table(self, name: str) -> TableCount | None:
        return next((t for t in self.tables if t.name == name), None)


@dataclass(frozen=True)
class BackfillExchange:
    exchange: str
    state: str
    percent: float
    records: int
    contracts_done: int
    contracts_total: int
    completeness: float | None
    errors: int


@dataclass(frozen=True)
class BackfillView:
    """A running backfill's progress, or the last run's result, or nothing yet."""

    running: bool = False
    state: str | None = None  # the status file's state; None: no status file
    holder: str | None = None  # who holds the lock while running
    started_at: str | None = None
    finished_at: str | None = None
    updated_at: str | None = None
    days: float | None = None
    percent: float | None = None
    completeness: float | None = None
    records: int = 0
    exchanges: list[BackfillExchange] = field(default_factory=list)
    note: str | None = None  # e.g. a stale status, or one describing another database
    error: str | None = None


@dataclass(frozen=True)
class OpportunityRow:
    base: str
    short: str  # exchange paying more: short it
    long: str
    intervals: str  # "8h/1h"
    gross_apr: float  # fractions: 0.1 is 10 %, simple APR
    net_apr: float


@dataclass(frozen=True)
class OpportunitiesView:
    rows: list[OpportunityRow] = field(default_factory=list)
    candidates: int = 0
    stale_legs: int = 0
    hold_days: int = 7
    error: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything one refresh found, and when."""

    taken_at: datetime
    services: ServicesView
    collection: CollectionView
    database: DatabaseView
    backfill: BackfillView
    opportunities: OpportunitiesView
