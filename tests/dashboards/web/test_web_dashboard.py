"""The web dashboard in headless Chromium against the API on simulator data: every page loads
without a console error, the grid holds the universe's assets and its filters narrow it, charts
are drawn (gaps as gaps), CSV export holds the rows shown, the pair page shows the API's
numbers, and stale data is marked."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from running_system import keep_fresh
from web_browser import Tab, WebApp, make_stale

from lib.history.status import StatusWriter, database_record
from lib.runtime.files import BACKFILL_STATUS_FILE, UNIFIED_LOCK_FILE
from lib.runtime.locks import FileLock
from lib.storage.engine import database
from lib.storage.schema import exchange_data
from lib.timeutils import from_iso, to_ms, utcnow

DASH = "–"

# Count the pixels of a series' stroke colour in a chart's canvas: lines really drawn.
STROKE_PIXELS = """([sel, r, g, b]) => {
  const c = document.querySelector(sel + ' canvas');
  if (!c || !c.width) return 0;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 200 && Math.abs(d[i] - r) < 40 && Math.abs(d[i + 1] - g) < 40
        && Math.abs(d[i + 2] - b) < 40) n++;
  }
  return n;
}"""
BLUE = (31, 95, 191)  # the first series' stroke (#1f5fbf)


def pct(x: float | None, decimals: int) -> str:
    """As the page formats a fraction: percent with fixed decimals, a dash when missing."""
    return DASH if x is None else f"{x * 100:.{decimals}f}"


def fixed(x: float | None, decimals: int) -> str:
    return DASH if x is None else f"{x:.{decimals}f}"


def musd(x: float | None) -> str:
    return DASH if x is None else f"{x / 1e6:.2f}"


def grid_complete(tab: Tab) -> None:
    """Until every row of the grid is in (rows after the first screenful come in chunks)."""
    tab.page.wait_for_selector("#grid[data-complete='1']")


def grid_bases(tab: Tab) -> list[str]:
    grid_complete(tab)
    return tab.page.eval_on_selector_all("#grid tbody tr[data-base]",
                                         "rows => rows.map(r => r.dataset.base)")


def wait_rows(tab: Tab, n: int) -> None:
    tab.page.wait_for_function(
        "n => document.querySelectorAll('#grid tbody tr[data-base]').length === n", arg=n)


def hash_params(tab: Tab) -> dict[str, str]:
    query = tab.page.evaluate("location.hash").partition("?")[2]
    return dict(unquote(p).split("=", 1) for p in query.split("&") if p)


def first_pair(app: WebApp) -> dict[str, Any]:
    return app.api("/api/arbitrage/opportunities", limit=1)["data"][0]


def pair_route(item: dict[str, Any]) -> str:
    return (f"pair/{item['long']['exchange']}/{item['long']['symbol']}/"
            f"{item['short']['exchange']}/{item['short']['symbol']}")


def test_every_page_loads_without_console_errors(web_app: WebApp, tab: Tab) -> None:
    ex, sym = web_app.gap_contract
    routes = [("overview", "overview", "#grid tbody tr"),
              ("contract", f"contract/{ex}/{sym}?days=7", "#history tbody tr"),
              ("arbitrage", "arbitrage", "#arb tbody tr"),
              ("pair", pair_route(first_pair(web_app)), "#carry tbody tr"),
              ("health", "health", "#exchange-health tbody tr")]
    for name, route, rows in routes:
        tab.goto(route, name)
        assert tab.page.locator(rows).count() > 0, name
        assert tab.page.locator("p.error").count() == 0, name
        assert tab.screenshot(name).stat().st_size > 10_000
    tab.goto("overview", "overview")
    tab.page.click("#grid tbody tr button.expand")
    tab.page.wait_for_selector("tr.detail table.contracts tbody tr")
    tab.screenshot("overview-expanded")
    health = web_app.api("/api/health")["data"]
    tab.goto("health", "health")
    assert tab.page.locator("#exchange-health tbody tr").count() == len(health["exchanges"])
    assert tab.page.locator("#backfill tbody tr progress").count() == len(health["exchanges"])
    assert tab.errors == []


def test_grid_holds_the_universe_assets(web_app: WebApp, tab: Tab) -> None:
    assets = web_app.api("/api/assets", limit=1000)
    universe = {a["base"] for a in assets["data"]}
    assert len(universe) == assets["meta"]["total"] > 10
    tab.goto("overview", "overview")
    shown = grid_bases(tab)
    assert len(shown) == len(set(shown))
    assert set(shown) == universe
    tab.page.wait_for_selector("#card-assets")
    assert tab.page.inner_text("#card-assets") == str(len(universe))
    contracts = web_app.api("/api/funding-rates", limit=1000)["meta"]["total"]
    assert tab.page.inner_text("#card-contracts") == str(contracts)
    # every cell holds the API's grid value, in percent with the APR column's decimals
    grid = web_app.api("/api/funding-rates/grid", view="apr")["data"]
    row = grid["rows"][0]
    cells = tab.page.locator(f"#grid tbody tr[data-base='{row['base']}'] td.cell .v")
    expected = [pct(row["cells"][ex]["value"], 2) for ex in grid["exchanges"]
                if ex in row["cells"]]
    assert cells.all_inner_texts() == expected
    assert tab.errors == []


def test_filters_narrow_the_grid_and_live_in_the_url(web_app: WebApp, tab: Tab) -> None:
    assets = web_app.api("/api/assets", limit=1000)["data"]
    bases = sorted(a["base"] for a in assets)
    tab.goto("overview", "overview")
    wait_rows(tab, len(bases))

    query = bases[len(bases) // 2][:2]
    wanted = [b for b in bases if query in b]
    assert 0 < len(wanted) < len(bases)
    tab.page.fill("#f-q", query)
    wait_rows(tab, len(wanted))
    assert grid_bases(tab) == wanted
    assert hash_params(tab)["q"] == query

    tab.page.fill("#f-q", "")
    multi = [a["base"] for a in assets if a["exchange_count"] >= 2]
    assert 0 < len(multi) < len(bases)
    tab.page.check("#f-multi")
    wait_rows(tab, len(multi))
    assert set(grid_bases(tab)) == set(multi)

    tab.page.uncheck("#f-multi")
    on_okx = {r["base"] for r in web_app.api("/api/funding-rates", exchange="okx",
                                            limit=1000)["data"]}
    tab.page.check("#f-exchanges input[value='okx']")
    wait_rows(tab, len(on_okx))
    assert set(grid_bases(tab)) == on_okx
    assert tab.page.locator("#grid thead th").count() == 4  # asset, listed on, okx, max - min
    assert hash_params(tab)["ex"] == "okx"

    # the URL restores the filters
    tab.page.reload()
    tab.wait_ready("overview")
    wait_rows(tab, len(on_okx))
    assert tab.page.is_checked("#f-exchanges input[value='okx']")

    # another unit: the 8 h view, interval-normalised by the API
    tab.page.uncheck("#f-exchanges input[value='okx']")
    with tab.page.expect_response(lambda r: "view=8h" in r.url):
        tab.page.select_option("#f-unit", "8h")
    grid_complete(tab)
    grid = web_app.api("/api/funding-rates/grid", view="8h")["data"]
    row = grid["rows"][0]
    first = tab.page.locator(f"#grid tbody tr[data-base='{row['base']}'] td.cell .v")
    assert first.all_inner_texts() == [pct(row["cells"][ex]["value"], 4)
                                       for ex in grid["exchanges"] if ex in row["cells"]]
    assert hash_params(tab)["unit"] == "8h"

    # sort by the number of exchanges, most first
    tab.page.click("#grid thead button[data-key='listed']")
    grid_complete(tab)
    counts = tab.page.eval_on_selector_all(
        "#grid tbody tr[data-base] td:nth-child(2)", "tds => tds.map(t => +t.textContent)")
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    assert tab.errors == []


def test_contract_chart_is_drawn_with_gaps_as_gaps(web_app: WebApp, tab: Tab) -> None:
    ex, sym = web_app.gap_contract
    with tab.page.expect_response(lambda r: "/history?" in r.url) as reply:
        tab.goto(f"contract/{ex}/{sym}?days=7", "contract")
    history = reply.value.json()["data"]
    tab.page.wait_for_function(
        f"() => ({STROKE_PIXELS})(['#chart', {BLUE[0]}, {BLUE[1]}, {BLUE[2]}]) > 100")
    c = history["completeness"]
    assert c["missing"] >= 2
    assert f"{c['stored']} of {c['expected']} expected" in tab.page.inner_text("#completeness")
    # each deleted settlement is a null point of the drawn series: a break, not a bridge
    xs, ys = tab.page.evaluate("() => document.querySelector('#chart').uplot.data.slice(0, 2)")
    drawn = dict(zip(xs, ys, strict=True))
    for t in web_app.gap_times:
        assert drawn[to_ms(t) / 1000] is None
    stored = {to_ms(from_iso(s["funding_time"])) / 1000: s["rate_8h"] * 100
              for s in history["settlements"]}
    for x, y in stored.items():
        assert abs(drawn[x] - y) < 1e-12
    tab.screenshot("contract-gaps")
    # the same history as APR: the drawn values follow the unit, the gaps stay
    tab.page.check("input[name='unit'][value='apr']")
    tab.page.wait_for_function("() => /unit=apr/.test(location.hash)")
    xs, ys = tab.page.evaluate("() => document.querySelector('#chart').uplot.data.slice(0, 2)")
    drawn = dict(zip(xs, ys, strict=True))
    for s in history["settlements"]:
        assert abs(drawn[to_ms(from_iso(s["funding_time"])) / 1000] - s["apr"] * 100) < 1e-9
    assert all(drawn[to_ms(t) / 1000] is None for t in web_app.gap_times)
    assert tab.errors == []


def test_contract_table_pages(web_app: WebApp, tab: Tab) -> None:
    """An hourly contract's days are pages of 50 rows, newest first, the page in the URL."""
    rates = web_app.api("/api/funding-rates", interval="1", limit=1)["data"][0]
    ex, sym = rates["exchange"], rates["symbol"]
    with tab.page.expect_response(lambda r: "/history?" in r.url) as reply:
        tab.goto(f"contract/{ex}/{sym}?days=7", "contract")
    newest_first = reply.value.json()["data"]["settlements"][::-1]
    assert len(newest_first) > 50  # three days of backfill: about 72 hourly settlements
    first_cells = "#history tbody tr td:first-child"
    assert tab.page.locator("#history tbody tr").count() == 50
    tab.page.click("#pager button:has-text('Next')")
    tab.page.wait_for_function("() => /page=2/.test(location.hash)")
    shown = tab.page.locator(first_cells).all_inner_texts()
    assert shown == [s["funding_time"][:16].replace("T", " ") for s in newest_first[50:100]]
    assert f"Page 2 of {-(-len(newest_first) // 50)}" in tab.page.inner_text("#pager")
    assert tab.errors == []


def test_csv_export_downloads_the_rows_shown(web_app: WebApp, tab: Tab) -> None:
    ex, sym = web_app.gap_contract
    tab.goto(f"contract/{ex}/{sym}?days=7", "contract")
    with tab.page.expect_response(lambda r: "/history?days=14" in r.url) as reply:
        tab.page.check("input[name='days'][value='14']")
    tab.page.wait_for_function("() => /days=14/.test(location.hash)")
    settlements = reply.value.json()["data"]["settlements"]
    tab.page.wait_for_function(
        "n => document.querySelector('#pager .pageinfo')?.textContent.includes(`(${n} rows)`)",
        arg=len(settlements))
    with tab.page.expect_download() as download:
        tab.page.click("#csv")
    assert download.value.suggested_filename == re.sub(r"[^\w.-]+", "_", f"{ex}_{sym}_14d.csv")
    text = download.value.path().read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(settlements) > 0
    for row, s in zip(rows, settlements, strict=True):
        assert row["funding_time"] == s["funding_time"]
        assert float(row["funding_rate"]) == s["funding_rate"]
        assert float(row["funding_interval_hours"]) == s["funding_interval_hours"]
        assert float(row["apr"]) == s["apr"]
    # the table's newest row is the CSV's last, shown in UTC (the browser runs in Tokyo time)
    first_cell = tab.page.inner_text("#history tbody tr:first-child td:first-child")
    assert first_cell == rows[-1]["funding_time"][:16].replace("T", " ")
    assert tab.errors == []


def test_arbitrage_filters_and_row_opens_pair_with_the_api_numbers(
        web_app: WebApp, tab: Tab) -> None:
    with tab.page.expect_response(lambda r: "/api/arbitrage/opportunities" in r.url) as reply:
        tab.goto("arbitrage", "arbitrage")
    listed = reply.value.json()
    assert tab.page.locator("#arb tbody tr").count() == min(50, listed["meta"]["total"])

    with tab.page.expect_response(lambda r: "exchanges=" in r.url) as reply:
        tab.page.check("#arb-filters input[name='exchanges'][value='okx']")
    tab.page.wait_for_function("() => /exchanges=okx/.test(location.hash)")
    # one exchange named: both legs on it is impossible, so a second one is needed
    with tab.page.expect_response(lambda r: "exchanges=" in r.url and "okx" in r.url
                                  and "bybit" in r.url) as reply:
        tab.page.check("#arb-filters input[name='exchanges'][value='bybit']")
    narrowed = reply.value.json()
    assert 0 < narrowed["meta"]["total"] < listed["meta"]["total"]
    for item in narrowed["data"]:
        assert {item["long"]["exchange"], item["short"]["exchange"]} == {"okx", "bybit"}
    # the table shows that answer: its size, and only okx and bybit legs
    tab.page.wait_for_function("""n => {
        const rows = [...document.querySelectorAll('#arb tbody tr')];
        return rows.length === n && rows.every(r => [1, 2].every(i =>
            /^(okx|bybit) /.test(r.cells[i].textContent)));
    }""", arg=min(50, narrowed["meta"]["total"]))

    # a click on the row (not its link) opens the pair page
    with tab.page.expect_response(lambda r: "/api/arbitrage/pairs/" in r.url) as reply:
        tab.page.click("#arb tbody tr:first-child td:nth-child(5)")
        tab.wait_ready("pair")
    d = reply.value.json()["data"]
    top = narrowed["data"][0]
    assert (d["long"]["symbol"], d["short"]["symbol"]) == (top["long"]["symbol"],
                                                           top["short"]["symbol"])
    text = {k: tab.page.inner_text(f"[data-field='{k}']") for k in (
        "spread_8h", "gross_apr", "net_apr", "fees", "persistence", "spread_z", "min_oi_usd")}
    assert text == {"spread_8h": pct(d["spread_8h"], 4), "gross_apr": pct(d["gross_apr"], 2),
                    "net_apr": pct(d["net_apr"], 2), "fees": pct(d["fees"], 4),
                    "persistence": pct(d["persistence"], 1),
                    "spread_z": fixed(d["spread_z"], 2), "min_oi_usd": musd(d["min_oi_usd"])}
    for side in ("long", "short"):
        leg = d[side]
        assert tab.page.inner_text(f"[data-field='{side}.exchange']") == leg["exchange"]
        assert tab.page.inner_text(f"[data-field='{side}.funding_rate']") == pct(
            leg["funding_rate"], 4)
        assert tab.page.inner_text(f"[data-field='{side}.rate_8h']") == pct(leg["rate_8h"], 4)
        assert tab.page.inner_text(f"[data-field='{side}.apr']") == pct(leg["apr"], 2)
    for window, s in d["statistics"].items():
        assert tab.page.inner_text(f"[data-field='{window}.mean_8h']") == pct(s["mean_8h"], 4)
        assert tab.page.inner_text(f"[data-field='{window}.zscore']") == fixed(s["zscore"], 2)
    assert sorted(d["realized_carry"], key=int) == ["1", "7", "30"]
    for days, c in d["realized_carry"].items():
        assert tab.page.inner_text(f"[data-field='{days}.completeness']") == pct(
            c["completeness"], 1)
        shown = tab.page.inner_text(f"[data-field='{days}.net']")
        assert shown == (pct(c["net"], 4) if c["complete"]
                         else f"incomplete (partial {pct(c['partial_net'], 4)})")
    if d["spread_history"]:
        tab.page.wait_for_function(
            f"() => ({STROKE_PIXELS})(['#spread-chart', {BLUE[0]}, {BLUE[1]}, {BLUE[2]}]) > 50")
    tab.screenshot("pair-from-arbitrage")
    assert tab.errors == []


def test_stale_exchange_is_marked(web_app: WebApp, tab: Tab) -> None:
    make_stale(web_app.settings, "okx")
    web_app.clear_cache()
    try:
        tab.goto("overview?ex=okx", "overview")
        banner = tab.page.locator("#stale-banner")
        banner.wait_for(state="visible")
        assert "okx" in banner.inner_text()
        grid_complete(tab)
        cells = tab.page.locator("#grid tbody td.cell")
        assert cells.count() > 0
        assert cells.count() == tab.page.locator("#grid tbody td.cell.stale").count()
        tab.screenshot("overview-stale")
    finally:
        keep_fresh(web_app.settings)
        web_app.clear_cache()
    assert tab.errors == []


def test_api_error_is_one_line_on_the_page(web_app: WebApp, tab: Tab) -> None:
    """An unknown contract: the API's 404 message on the page, no script error."""
    tab.page.goto(f"{web_app.url}/#/contract/okx/NO-SUCH-SWAP")
    error = tab.page.locator("main p.error")
    error.wait_for()
    assert "NO-SUCH-SWAP" in error.inner_text()
    # the browser's own line for each 404 reply, and nothing else
    assert tab.errors
    assert all("status of 404" in e for e in tab.errors), tab.errors


def test_overview_refreshes_without_a_reload(web_app: WebApp, tab: Tab) -> None:
    """A new rate in the database reaches the open grid within one 30 s refresh, in place."""
    grid = web_app.api("/api/funding-rates/grid", view="apr")["data"]
    row = grid["rows"][0]
    exchange, cell = next(iter(row["cells"].items()))
    tab.goto(f"overview?q={row['base']}", "overview")
    tab.page.evaluate("window.stillTheSamePage = true")
    rate = 0.0123
    with database(web_app.settings, migrate=False) as engine, engine.begin() as conn:
        conn.execute(exchange_data.update().where(
            exchange_data.c.exchange == exchange, exchange_data.c.symbol == cell["symbol"])
            .values(funding_rate=rate))
    web_app.clear_cache()
    expected = pct(rate * 8760 / cell["interval_hours"], 2)
    tab.page.wait_for_function(
        """([base, i, want]) => {
            const v = document.querySelectorAll(`#grid tr[data-base="${base}"] td.cell .v`)[i];
            return v && v.textContent === want;
        }""", arg=[row["base"], 0, expected], timeout=90_000)
    assert tab.page.evaluate("window.stillTheSamePage") is True
    assert tab.errors == []


def test_health_follows_a_running_backfill(web_app: WebApp, tab: Tab) -> None:
    """While a backfill holds its lock, the page polls its status and moves its bars."""
    run = web_app.settings.RUNTIME_DIR
    status = run / BACKFILL_STATUS_FILE
    saved = status.read_bytes()
    now = utcnow()
    writer = StatusWriter(status, days=3, window_start=now - timedelta(days=3), window_end=now,
                          exchanges=["bybit", "okx"], command="a test backfill",
                          database=database_record(web_app.settings.database_url),
                          min_interval=0)
    bar = "#backfill progress[data-exchange='okx']"
    try:
        with FileLock(run / UNIFIED_LOCK_FILE, command="a test backfill"):
            writer.start()
            writer.update("okx", state="running", contracts_total=10, contracts_done=2)
            web_app.clear_cache()
            tab.goto("health", "health")
            tab.page.wait_for_selector("#backfill-overall")
            assert tab.page.get_attribute(bar, "value") == "20"
            writer.update("okx", contracts_done=7)
            web_app.clear_cache()
            tab.page.wait_for_function(
                f"() => document.querySelector(\"{bar}\")?.getAttribute('value') === '70'")
            tab.screenshot("health-backfill-running")
    finally:
        status.write_bytes(saved)
        web_app.clear_cache()
    assert tab.errors == []


# Every form control has a label; numeric cells are right-aligned; numeric headers name a unit.
ACCESSIBLE_BASICS = """() => {
    const unlabelled = [...document.querySelectorAll('main input, main select')]
        .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label'))
        .map(e => e.outerHTML.slice(0, 80));
    const leftNumbers = [...document.querySelectorAll('main td.num')]
        .filter(td => getComputedStyle(td).textAlign !== 'right').length;
    const numericHeaders = [...document.querySelectorAll('main th.num')];
    const noUnit = numericHeaders.filter(th => !th.querySelector('.unit'))
        .map(th => th.textContent);
    return {unlabelled, leftNumbers, noUnit, numericHeaders: numericHeaders.length};
}"""


def test_accessible_basics_and_keyboard_filters(web_app: WebApp, tab: Tab) -> None:
    ex, sym = web_app.gap_contract
    for name, route in (("overview", "overview"), ("contract", f"contract/{ex}/{sym}"),
                        ("arbitrage", "arbitrage"), ("pair", pair_route(first_pair(web_app))),
                        ("health", "health")):
        tab.goto(route, name)
        found = tab.page.evaluate(ACCESSIBLE_BASICS)
        assert found["unlabelled"] == [], name
        assert found["leftNumbers"] == 0, name
        assert found["numericHeaders"] > 0 and found["noUnit"] == [], name
    # the overview's filters from the keyboard alone: type a search, Tab to the checkbox, Space
    multi = [a["base"] for a in web_app.api("/api/assets", limit=1000, min_exchanges=2)["data"]]
    tab.goto("overview", "overview")
    tab.page.focus("#f-q")
    tab.page.keyboard.press("Tab")  # the unit
    tab.page.keyboard.press("Tab")  # listed on 2+ exchanges only
    tab.page.keyboard.press("Space")
    assert tab.page.is_checked("#f-multi")
    wait_rows(tab, len(multi))
    # a sort header is a button: Enter on it sorts
    tab.page.focus("#grid thead button[data-key='listed']")
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_selector("#grid th[aria-sort='descending'] button[data-key='listed']")
    assert tab.errors == []
