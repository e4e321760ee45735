"""The Textual app: five panels, a status line, the keys, and a refresh every 5 s.

Refreshes gather on a worker thread (`Gatherer`) and hand the finished `Snapshot` back to the
UI thread, which updates each panel in place: a slow database delays the numbers, never the
keys. A refresh is skipped while the previous one is still running. Actions (B, X, C, S) also
run on worker threads and end in a notification. A one-second tick keeps the clock and the
collection countdown moving between refreshes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

from config.settings import Settings
from lib.dashboards.terminal.actions import HELP, ActionResult, Actions
from lib.dashboards.terminal.api import ApiClient
from lib.dashboards.terminal.gather import Gatherer
from lib.dashboards.terminal.panels import (
    Panel,
    database_title,
    render_backfill,
    render_collection,
    render_database,
    render_opportunities,
    render_services,
)
from lib.dashboards.terminal.screens import ConfirmScreen, HelpScreen
from lib.dashboards.terminal.views import Snapshot
from lib.timeutils import utcnow

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0

PANELS = {  # id: title
    "services": "Services", "collection": "Collection", "database": "Database",
    "backfill": "Backfill", "opportunities": "Top opportunities (net APR, 7 d)",
}


class DashboardApp(App[None]):
    """`python -m lib.terminal_dashboard`."""

    TITLE = "funding rates"
    CSS = """
    #status { height: 1; padding: 0 1; background: $panel; }
    #body { height: 1fr; }
    #left, #right { width: 1fr; }
    #services { height: auto; max-height: 50%; }
    #database { height: auto; }
    #backfill { height: 1fr; }
    #collection { height: 1fr; }
    #opportunities { height: auto; max-height: 45%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b,B", "backfill", "Backfill"),
        Binding("x,X", "stop_backfill", "Stop it"),
        Binding("c,C", "clear_cache", "Clear cache"),
        Binding("s,S", "shutdown", "Shutdown"),
        Binding("h,H", "help", "Help"),
        Binding("q,Q", "quit", "Quit"),
    ]

    def __init__(self, settings: Settings, refresh_seconds: float = REFRESH_SECONDS) -> None:
        super().__init__()
        self.settings = settings
        self.refresh_seconds = refresh_seconds
        self.gatherer = Gatherer(settings)
        self.actions = Actions(settings, ApiClient(settings))
        self.snapshot: Snapshot | None = None
        self.generation = 0  # snapshots shown so far (tests wait on it)
        self.results: list[ActionResult] = []  # every action's outcome, in order
        self._gathering = threading.Lock()

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("starting…", id="status")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                for key in ("services", "database", "backfill"):
                    yield Panel(PANELS[key], id=key)
            with Vertical(id="right"):
                for key in ("collection", "opportunities"):
                    yield Panel(PANELS[key], id=key)
        yield Footer()

    def panel(self, key: str) -> Panel:
        return self.query_one(f"#{key}", Panel)

    def on_mount(self) -> None:
        self.refresh_data()
        self.set_interval(self.refresh_seconds, self.refresh_data)
        self.set_interval(1.0, self._tick)

    def on_unmount(self) -> None:
        with self._gathering:  # let a refresh in flight finish with the engine first
            self.gatherer.close()
        self.actions.api.close()

    # -- refreshing ----------------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Start a refresh on a worker thread, unless one is still running."""
        if self._gathering.acquire(blocking=False):
            self._gather()

    @work(thread=True, exclusive=False, group="gather")
    def _gather(self) -> None:
        try:
            snapshot = self.gatherer.gather()
        except Exception:  # a bug in one refresh must not end the refreshes
            logger.exception("refresh failed")
            return
        finally:
            self._gathering.release()
        self._from_thread(lambda: self.show(snapshot))

    def _from_thread(self, callback: Callable[[], None]) -> None:
        try:
            self.call_from_thread(callback)
        except RuntimeError:  # the app closed while the worker ran
            logger.debug("app closed before a worker's result was shown")

    def show(self, snapshot: Snapshot) -> None:
        """Put one refresh on screen: each panel's content replaced in place."""
        self.snapshot = snapshot
        self.panel("services").show(render_services(snapshot.services))
        self.panel("collection").show(render_collection(snapshot.collection))
        self.panel("collection").border_subtitle = (
            f"{snapshot.collection.contracts:,} contracts" if snapshot.collection.exchanges
            else "")
        self.panel("database").show(render_database(snapshot.database, snapshot.taken_at))
        self.panel("database").border_title = database_title(snapshot.database)
        self.panel("database").border_subtitle = snapshot.database.database
        self.panel("backfill").show(render_backfill(snapshot.backfill, snapshot.taken_at))
        self._show_opportunities()
        self.generation += 1
        self._tick()

    def _show_opportunities(self) -> None:
        if self.snapshot is not None:
            panel = self.panel("opportunities")
            view = self.snapshot.opportunities
            panel.show(render_opportunities(view, panel.content_region.width))
            panel.border_subtitle = (f"{len(view.rows)} of {view.candidates:,} pairs"
                                     if view.rows else "")

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_opportunities)  # columns for the new width

    def _tick(self) -> None:
        now = utcnow()
        snapshot = self.snapshot
        if snapshot is None:
            return
        elapsed = (now - snapshot.taken_at).total_seconds()
        api = "API up" if snapshot.services.api_up else "API down: files and database only"
        self.query_one("#status", Static).update(
            f"[b]funding rates[/b]  {now:%H:%M:%S} UTC  "
            f"[{'green' if snapshot.services.api_up else 'red'}]{api}[/]  "
            f"[dim]{elapsed:.0f} s ago[/]")
        if elapsed >= 1:
            self.panel("collection").show(render_collection(snapshot.collection, elapsed))

    # -- keys ----------------------------------------------------------------------------------

    @work(thread=True, group="actions")
    def _act(self, action: Callable[[], ActionResult]) -> None:
        try:
            result = action()
        except Exception as e:  # a key never takes the dashboard down
            logger.exception("action failed")
            result = ActionResult(False, f"failed: {e}", "none")
        self._from_thread(lambda: self._report(result))

    def _report(self, result: ActionResult) -> None:
        self.results.append(result)
        self.notify(result.message, severity="information" if result.ok else "warning",
                    timeout=8, markup=False)  # messages quote paths, commands and [brackets]
        self.refresh_data()

    def _if_confirmed(self, action: Callable[[], ActionResult],
                      ) -> Callable[[bool | None], None]:
        """The confirmation's callback: run `action` on a yes."""
        def answer(yes: bool | None) -> None:
            if yes:
                self._act(action)
        return answer

    def action_backfill(self) -> None:
        days = self.settings.HISTORICAL_DAYS
        question = (f"Start a backfill of {days} day{'s' if days != 1 else ''} for "
                    f"{len(self.settings.EXCHANGES)} exchanges?")
        self.push_screen(ConfirmScreen(question),
                         self._if_confirmed(self.actions.start_backfill))

    def action_stop_backfill(self) -> None:
        self._act(self.actions.stop_backfill)

    def action_clear_cache(self) -> None:
        self._act(self.actions.clear_cache)

    def action_shutdown(self) -> None:
        self.push_screen(ConfirmScreen("Shut the whole system down (collectors, API, "
                                       "backfill)? The dashboard keeps running."),
                         self._if_confirmed(self.actions.shutdown))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(HELP))
