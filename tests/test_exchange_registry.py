"""The exchange table, the adapter files and the settings agree (cryptofeed EXCHANGE_MAP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import SUPPORTED_EXCHANGES, load_settings
from lib.errors import ConfigurationError
from lib.exchanges import ADAPTER_MODULES, adapter_class, get_adapter, symbols
from lib.exchanges.base import ExchangeAdapter

EXCHANGE_DIR = Path(__file__).resolve().parent.parent / "lib" / "exchanges" / "venues"


def test_table_files_and_settings_agree() -> None:
    files = {p.stem for p in EXCHANGE_DIR.glob("*.py")} - {"__init__"}
    assert files == set(ADAPTER_MODULES) == set(SUPPORTED_EXCHANGES)
    assert tuple(symbols.SUPPORTED_EXCHANGES) == SUPPORTED_EXCHANGES


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
