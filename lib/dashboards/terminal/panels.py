"""The panels: each draws one view as Rich tables inside a bordered, scrollable box.

A refresh hands each panel its new view and the panel replaces its content in place (one
`Static.update`), so the screen never blanks or flickers; a panel whose source failed shows the
one-line error instead. Numbers are right-aligned with fixed decimals and their unit.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from lib.dashboards.terminal.views import (
    ERROR,
    OK,
    SLOW,
    TIMEOUT,
    BackfillView,
    CollectionView,
    DatabaseView,
    OpportunitiesView,
    ServicesView,
)
from lib.storage.admin import human_bytes
from lib.timeutils import from_iso

STATUS_STYLE = {OK: "green", SLOW: "yellow", ERROR: "red bold"}  # TIMEOUT: red
STATE_STYLE = {"completed": "green", "running": "cyan", "stopped": "yellow", "failed": "red"}


def _grid(*columns: tuple[str, str], header: bool = True, flex: int | None = -1) -> Table:
    """A borderless table; columns are (header, justify); column `flex` takes the room left
    (and is cut first, with an ellipsis); with `flex` None the table is only as wide as its
    content."""
    table = Table(box=None, show_header=header, header_style="bold", pad_edge=False,
                  expand=flex is not None, padding=(0, 0, 0, 1))  # one space between
    flexed = None if flex is None else flex % len(columns)
    for i, (name, justify) in enumerate(columns):
        table.add_column(name, justify=justify,  # type: ignore[arg-type]
                         no_wrap=True, overflow="ellipsis", ratio=1 if i == flexed else None)
    return table


def _error(message: str) -> Text:
    return Text(message, style="red")


def _seconds(value: float) -> str:
    if abs(value) < 120:
        return f"{value:.0f} s"
    if abs(value) < 7200:
        return f"{value / 60:.0f} min"
    return f"{value / 3600:.1f} h"


def _when(value: datetime | None, now: datetime) -> str:
    """"12 s ago" for recent times, else the UTC date and time."""
    if value is None:
        return "-"
    age = (now - value).total_seconds()
    if 0 <= age < 7200:
        return f"{_seconds(age)} ago"
    return value.strftime("%Y-%m-%d %H:%M")


def _iso_when(value: str | None, now: datetime) -> str:
    try:
        return _when(from_iso(value), now) if value else "-"
    except ValueError:
        return value or "-"


def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def render_services(view: ServicesView) -> RenderableType:
    table = _grid(("service", "left"), ("state", "left"), ("detail", "left"), header=False)
    for row in view.rows:
        table.add_row(row.name, Text(row.state, style="green" if row.ok else "red bold"),
                      Text(row.detail, style="dim"))
    return table


def render_collection(view: CollectionView, elapsed: float = 0.0) -> RenderableType:
    """`elapsed`: seconds since the view was gathered, so the countdown ticks between refreshes."""
    if view.error:
        return _error(view.error)
    age = (view.age_s or 0.0) + elapsed
    next_in = (view.next_in_s or 0.0) - elapsed
    if next_in >= 0:
        when = f"next in {_seconds(next_in)}"
    else:  # a cycle's file is written when it ends: until then it is running, not late
        when = f"overdue {_seconds(-next_in)}" if view.stale else "collecting now"
    counts = Counter(e.status for e in view.exchanges)
    summary = ", ".join(f"{counts[s]} {s}" for s in (OK, SLOW, TIMEOUT, ERROR) if counts[s])
    head = Text.assemble(
        ("last ", "bold"), f"{_seconds(age)} ago, ", (when, "red" if view.stale else ""),
        f", {(view.duration_ms or 0) / 1000:.1f} s\n",
        (summary or "no exchange", "green" if set(counts) == {OK} else "yellow bold"))
    table = _grid(("exchange", "left"), ("contracts", "right"), ("s", "right"),
                  ("status", "left"), flex=None)
    failures = []
    for e in view.exchanges:
        table.add_row(e.exchange, f"{e.contracts:,}", f"{e.duration_ms / 1000:.2f}",
                      Text(e.status, style=STATUS_STYLE.get(e.status, "red")))
        if e.error:
            reason = e.error if e.error.startswith(f"{e.exchange}:") else (
                f"{e.exchange}: {e.error}")
            failures.append(Text(reason, style="red"))
    return Group(head, table, *failures)


def database_title(view: DatabaseView) -> str:
    """The panel's title carries the size and schema version (a row fewer at 80 × 24)."""
    if view.error or view.size_bytes is None:
        return "Database"
    return f"Database {human_bytes(view.size_bytes)}, schema v{view.schema_version}"


def render_database(view: DatabaseView, now: datetime) -> RenderableType:
    """Rows and newest row per table (size and schema in the title, the database named in the
    lower border)."""
    if view.error:
        return _error(view.error)
    table = _grid(("table", "left"), ("rows", "right"), ("newest", "right"), flex=None,
                  header=False)
    for t in view.tables:
        table.add_row(t.name, f"{t.rows:,}", _when(t.newest, now))
    return table


def render_backfill(view: BackfillView, now: datetime) -> RenderableType:
    if view.error:
        return _error(view.error)
    parts: list[RenderableType] = []
    if view.running:
        parts.append(Text.assemble(("running ", "cyan bold"), f"{view.percent or 0:.1f}%, ",
                                   f"{view.records:,} records"))
        table = _grid(("exchange", "left"), ("progress", "left"), ("%", "right"),
                      ("records", "right"), header=False, flex=1)
        # the ones still going first: at 80 × 24 only the top few rows show
        for e in sorted(view.exchanges, key=lambda e: (e.state != "running", e.percent)):
            table.add_row(e.exchange, ProgressBar(total=100.0, completed=e.percent),
                          f"{e.percent:5.1f}%", f"{e.records:,}")
        parts.append(table)
    elif view.state is None:
        parts.append(Text(view.note or "no backfill yet", style="dim"))
    else:
        parts.append(Text.assemble(
            ("last: ", "bold"), (view.state, STATE_STYLE.get(view.state, "")),
            f" {_iso_when(view.finished_at or view.updated_at, now)}, ",
            f"{_pct(None if view.completeness is None else view.completeness / 100, 2)} "
            f"complete, {view.records:,} records"))
        table = _grid(("exchange", "left"), ("state", "left"), ("complete", "right"),
                      ("records", "right"), header=False, flex=None)
        for e in sorted(view.exchanges, key=lambda e: e.state == "completed"):  # failed first
            state = "done" if e.state == "completed" else e.state  # fits 80 columns
            table.add_row(e.exchange, Text(state, style=STATE_STYLE.get(e.state, "")),
                          _pct(None if e.completeness is None else e.completeness / 100, 2),
                          f"{e.records:,}")
        parts.append(table)
    if view.note and view.state is not None:
        parts.insert(0, Text(view.note, style="yellow"))
    return Group(*parts)


WIDE = 60  # content width from which the opportunities show every column


def render_opportunities(view: OpportunitiesView, width: int = WIDE) -> RenderableType:
    """Asset, short leg → long leg and net APR; from `WIDE` columns also the intervals and the
    gross APR."""
    if view.error:
        return _error(view.error)
    if not view.rows:
        return Text(f"no cross-exchange pairs in the current snapshot "
                    f"({view.stale_legs} stale legs left out)", style="dim")
    wide = width >= WIDE
    columns = [("asset", "left"), ("short → long", "left")]
    if wide:
        columns += [("intervals", "right"), ("APR %", "right")]
    table = _grid(*columns, ("net %", "right"), flex=1)
    for r in view.rows:
        cells: list[RenderableType] = [r.base, f"{r.short} → {r.long}"]
        if wide:
            cells += [r.intervals, f"{r.gross_apr * 100:.1f}"]
        table.add_row(*cells, Text(f"{r.net_apr * 100:.1f}",
                                   style="green" if r.net_apr > 0 else "red"))
    return table


class Panel(VerticalScroll):
    """A titled box whose content is one replaceable Rich renderable."""

    DEFAULT_CSS = """
    Panel {
        border: round $primary;
        border-title-color: $text;
        border-title-style: bold;
        padding: 0 1;
        height: 1fr;
        min-height: 4;
        scrollbar-size-vertical: 1;
    }
    Panel > Static { width: 100%; }
    """

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(id=id)
        self.border_title = title
        self.body = Static("loading…")

    def compose(self) -> ComposeResult:
        yield self.body

    def show(self, renderable: RenderableType) -> None:
        self.body.update(renderable)
