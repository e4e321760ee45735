"""What every entry point shares: the --exchanges type follows the EXCHANGES setting's rules."""

from __future__ import annotations

import argparse

import pytest

from config.settings import SUPPORTED_EXCHANGES
from lib.runtime.cli import parse_exchanges


def test_exchanges_flag_takes_known_names_in_any_case_and_spacing() -> None:
    assert parse_exchanges(" OKX, binance ,") == ("okx", "binance")


@pytest.mark.parametrize(("value", "unknown"), [("ftx", "ftx"), ("okx,ftx,mtgox", "ftx, mtgox"),
                                                 (" , ", "(none)")])
def test_exchanges_flag_names_what_is_unknown(value: str, unknown: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        parse_exchanges(value)
    message = str(caught.value)  # names the flag, what is unknown and what is supported
    assert "--exchanges" in message and f"unknown exchange(s) {unknown}" in message
    assert message.endswith(f"supported: {', '.join(SUPPORTED_EXCHANGES)}")
