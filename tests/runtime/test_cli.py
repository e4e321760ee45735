"""What every entry point shares: the --exchanges type follows the EXCHANGES setting's rules."""

from __future__ import annotations

import argparse

import pytest

from config.settings import SUPPORTED_EXCHANGES
from lib.runtime.cli import parse_exchanges


def test_exchanges_flag_takes_known_names_in_any_case_and_spacing() -> None:
    assert parse_exchanges(" OKX, binance ,") == ("okx", "binance")


@pytest.mark.parametrize(("value", "unknown"), [("ftx", "ftx"), ("okx,ftx,mtgox", "ftx, mtgox")])
def test_exchanges_flag_names_what_is_unknown(value: str, unknown: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        parse_exchanges(value)
    # argparse prefixes "argument --exchanges: "; the message itself starts with the value
    message = str(caught.value)
    assert message.startswith(f"{value!r} names unknown exchange(s) {unknown}; ")
    assert message.endswith(f"supported: {', '.join(SUPPORTED_EXCHANGES)}")


def test_exchanges_flag_error_names_the_flag_once(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("--exchanges", type=parse_exchanges)
    with pytest.raises(SystemExit):
        parser.parse_args(["--exchanges", "ftx"])
    assert capsys.readouterr().err.splitlines()[-1] == (
        "tool: error: argument --exchanges: 'ftx' names unknown exchange(s) ftx; supported: "
        + ", ".join(SUPPORTED_EXCHANGES))
