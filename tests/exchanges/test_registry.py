"""The exchange registry: every registered exchange has all of its parts (cryptofeed EXCHANGE_MAP).

An exchange is registered by its adapter module (lib/exchanges/venues/<id>.py, which is what
`config.settings.SUPPORTED_EXCHANGES` lists). For each one, `missing_parts` names whatever of
the rest is absent: the simulator venue, recorded replies, its tests, its symbol rules and its
ccxt client entry. It reads a `Listing` (a file tree plus the per-exchange tables), so the tests
below also run it on a made-up tree to show what a half-added exchange is told.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from config.settings import SUPPORTED_EXCHANGES, load_settings
from lib.errors import ConfigurationError
from lib.exchanges import ADAPTER_MODULES, adapter_class, get_adapter, symbols
from lib.exchanges.base import ExchangeAdapter
from lib.simulator import EXCHANGES as SIMULATED

REPO = Path(__file__).resolve().parents[2]
EXCHANGE_DIR = REPO / "lib" / "exchanges" / "venues"
SHARED_RESPONSES = REPO.parent / "shared" / "exchange-responses"


def _ccxt_clients() -> ModuleType:
    """tests/simulator/ccxt_clients.py (a test helper beside its tests, not a package)."""
    if "ccxt_clients" in sys.modules:
        return sys.modules["ccxt_clients"]
    spec = importlib.util.spec_from_file_location(
        "ccxt_clients", REPO / "tests" / "simulator" / "ccxt_clients.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ccxt_clients"] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Listing:
    """What the project holds for its exchanges: a file tree and the per-exchange tables."""

    root: Path  # the repository: lib/ and tests/ under it
    shared: Path | None  # ../shared/exchange-responses; None when absent (a bare clone)
    symbol_rules: Collection[str]  # the exchanges with rules in lib/exchanges/symbols.py
    ccxt_ids: Mapping[str, str]  # exchange -> ccxt id, from tests/simulator/ccxt_clients.py


def project_listing() -> Listing:
    clients = _ccxt_clients().CCXT_CLIENTS
    return Listing(
        root=REPO,
        shared=SHARED_RESPONSES if SHARED_RESPONSES.is_dir() else None,
        symbol_rules=set(symbols._VENUES),
        ccxt_ids={name: client.ccxt_id for name, client in clients.items()},
    )


def _defines(path: Path, name: str) -> bool:
    """True when the module at `path` defines `name` at top level (class or assignment)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
    return False


def _has_replies(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.json"))


def missing_parts(exchange: str, listing: Listing) -> list[str]:
    """Everything a registered exchange lacks, each named as the file or entry to add."""
    root, missing = listing.root, []
    adapter = f"lib/exchanges/venues/{exchange}.py"
    if not (root / adapter).is_file():
        missing.append(f"adapter module {adapter}")
    elif not _defines(root / adapter, "Adapter"):
        missing.append(f"class Adapter in {adapter}")
    venue = f"lib/simulator/venues/{exchange}.py"
    if not (root / venue).is_file():
        missing.append(f"simulator venue module {venue}")
    ccxt_id = listing.ccxt_ids.get(exchange)
    recordings = f"tests/exchanges/recordings/{exchange}/"
    if not _has_replies(root / recordings) and listing.shared is not None:
        names = sorted({exchange, ccxt_id or exchange})
        if not any(_has_replies(listing.shared / name) for name in names):
            where = " or ".join(f"{listing.shared}/{name}/" for name in names)
            missing.append(f"recorded replies in {recordings} (or {where})")
    tests = f"tests/exchanges/test_{exchange}.py"
    if not (root / tests).is_file():
        missing.append(f"tests {tests}")
    if exchange not in listing.symbol_rules:
        missing.append(
            f"symbol rules: an entry {exchange!r} in _VENUES of lib/exchanges/symbols.py"
        )
    if ccxt_id is None:
        missing.append(
            f"ccxt client: an entry {exchange!r} in CCXT_CLIENTS of tests/simulator/ccxt_clients.py"
        )
    return missing


# ----- the project as it is ----------------------------------------------------------------------
def test_table_files_and_settings_agree() -> None:
    files = {p.stem for p in EXCHANGE_DIR.glob("*.py")} - {"__init__"}
    assert files == set(ADAPTER_MODULES) == set(SUPPORTED_EXCHANGES)
    assert tuple(symbols.SUPPORTED_EXCHANGES) == SUPPORTED_EXCHANGES
    assert list(SUPPORTED_EXCHANGES) == sorted(SUPPORTED_EXCHANGES)  # the documented order


def test_simulator_and_adapters_name_the_same_exchanges() -> None:
    """The simulator keeps its own registry (it never imports the adapters); they must agree."""
    assert set(SIMULATED) - set(SUPPORTED_EXCHANGES) == set(), "simulator venues without adapter"
    assert set(SUPPORTED_EXCHANGES) - set(SIMULATED) == set(), "adapters without simulator venue"
    assert SIMULATED == SUPPORTED_EXCHANGES


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_every_exchange_has_all_its_parts(exchange: str) -> None:
    missing = missing_parts(exchange, project_listing())
    assert not missing, f"{exchange} is registered but lacks: " + "; ".join(missing)


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_every_adapter_declares_its_facts(exchange: str) -> None:
    cls = adapter_class(exchange)
    assert issubclass(cls, ExchangeAdapter)
    assert cls.id == exchange
    assert cls.default_base_url.startswith("https://")
    assert cls.history_page_size >= 50
    assert cls.history_direction in {"forward", "backward", "pages"}
    assert cls.rate_limit.requests > 0 and cls.rate_limit.period > 0


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_base_url_comes_from_settings(exchange: str) -> None:
    real = get_adapter(exchange, load_settings({}, env_file=Path("/nonexistent")))
    assert real.base_url == adapter_class(exchange).default_base_url
    sim = get_adapter(exchange, load_settings({"SIMULATOR_URL": "http://127.0.0.1:8900"}))
    assert sim.base_url == f"http://127.0.0.1:8900/{exchange}"
    own = load_settings(
        {"SIMULATOR_URL": "http://127.0.0.1:8900", f"{exchange.upper()}_BASE_URL": "http://h:1/"}
    )
    assert get_adapter(exchange, own).base_url == "http://h:1"


def test_unknown_exchange_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown exchange 'ftx'"):
        adapter_class("ftx")


# ----- the check itself, on made-up trees -------------------------------------------------------
def _copy_exchange(exchange: str, root: Path, skip: Collection[str] = ()) -> None:
    """Copy one real exchange's files into a made-up tree, leaving out the `skip` paths."""
    for part in (f"lib/exchanges/venues/{exchange}.py", f"lib/simulator/venues/{exchange}.py",
                 f"tests/exchanges/test_{exchange}.py", f"tests/exchanges/recordings/{exchange}"):
        if part in skip:
            continue
        source, target = REPO / part, root / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)


def test_a_complete_copy_lacks_nothing(tmp_path: Path) -> None:
    _copy_exchange("okx", tmp_path)
    listing = Listing(tmp_path, None, {"okx"}, {"okx": "okx"})
    assert missing_parts("okx", listing) == []


def test_an_absent_simulator_venue_is_named(tmp_path: Path) -> None:
    _copy_exchange("okx", tmp_path, skip={"lib/simulator/venues/okx.py"})
    listing = Listing(tmp_path, None, {"okx"}, {"okx": "okx"})
    assert missing_parts("okx", listing) == ["simulator venue module lib/simulator/venues/okx.py"]


def test_a_new_exchange_with_only_an_adapter_is_told_everything_else(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "newex").mkdir(parents=True)  # a folder without replies does not count
    adapter = tmp_path / "lib" / "exchanges" / "venues" / "newex.py"
    adapter.parent.mkdir(parents=True)
    adapter.write_text("class NewEx:\n    pass\n")
    listing = Listing(tmp_path, shared, symbol_rules=set(), ccxt_ids={})
    assert missing_parts("newex", listing) == [
        "class Adapter in lib/exchanges/venues/newex.py",
        "simulator venue module lib/simulator/venues/newex.py",
        f"recorded replies in tests/exchanges/recordings/newex/ (or {shared}/newex/)",
        "tests tests/exchanges/test_newex.py",
        "symbol rules: an entry 'newex' in _VENUES of lib/exchanges/symbols.py",
        "ccxt client: an entry 'newex' in CCXT_CLIENTS of tests/simulator/ccxt_clients.py",
    ]
    # ccxt's recorded real replies, under the ccxt id, are enough in place of our own recordings
    (shared / "newexfutures").mkdir()
    (shared / "newexfutures" / "fetchFundingRate.json").write_text("{}")
    with_ccxt = Listing(tmp_path, shared, {"newex"}, {"newex": "newexfutures"})
    assert not [m for m in missing_parts("newex", with_ccxt) if m.startswith("recorded")]
