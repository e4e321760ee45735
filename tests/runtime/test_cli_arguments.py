"""The entry points' shared argument types, one-line argument errors and quiet retry logging.

Every bad input over every entry point is in `test_bad_inputs.py`; this file pins the exact
wording and ranges of the shared types, and where urllib3's retry chatter goes.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lib.runtime.cli import bounded, file_path, make_parser, parse_exchanges

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("flag", "setting", "raw", "value"), [
    ("--days", None, "30", 30.0), ("--days", None, "0.5", 0.5), ("--days", None, " 7 ", 7.0),
    ("--days", "HISTORICAL_DAYS", "20", 20), ("--hours", None, "48", 48.0),
    ("--interval", None, "0.5", 0.5), ("--threshold", None, "100", 100.0),
])
def test_bounded_accepts_values_in_range(flag: str, setting: str | None, raw: str,
                                         value: float) -> None:
    parsed = bounded(flag, setting)(raw)
    assert parsed == value
    assert type(parsed) is type(value)


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "1e309", "1e9", "0", "-0", "-1",
                                 "ten", "", "0x10", "3651"])
def test_days_refuse_non_finite_zero_negative_and_out_of_range(raw: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        bounded("--days")(raw)
    # argparse itself puts "argument --days: " in front: the flag is named once
    assert str(info.value) == f"{raw!r} must be a number above 0 up to 3650 days"


@pytest.mark.parametrize(("flag", "setting", "raw", "message"), [
    ("--days", "HISTORICAL_DAYS", "1.5", "'1.5' must be a whole number from 1 to 3650 days"),
    ("--hours", None, "-1", "'-1' must be a number above 0 up to 87600 hours"),
    ("--interval", None, "0", "'0' must be a number above 0 up to 86400 seconds"),
    ("--threshold", None, "101", "'101' must be a number above 0 up to 100 percent"),
    ("--threshold", None, "95%", "'95%' must be a number above 0 up to 100 percent"),
])
def test_bounded_messages_name_the_range(flag: str, setting: str | None, raw: str,
                                         message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        bounded(flag, setting)(raw)
    assert str(info.value) == message


@pytest.mark.parametrize(("raw", "message"), [
    ("binanc", "'binanc' names unknown exchange(s) binanc; supported: "),
    (",", "',' names no exchange; supported: "),
    ("binance,Binance", "'binance,Binance' names binance more than once"),
])
def test_exchange_lists_refuse_unknown_empty_and_repeated(raw: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        parse_exchanges(raw)
    assert str(info.value).startswith(message)


def test_file_path_refuses_empty_and_folders(tmp_path: Path) -> None:
    assert file_path(str(tmp_path / "x.bak")) == tmp_path / "x.bak"
    with pytest.raises(argparse.ArgumentTypeError, match="must name a file"):
        file_path("")
    with pytest.raises(argparse.ArgumentTypeError, match="is a folder, not a file"):
        file_path(str(tmp_path))


def test_argument_error_is_one_line_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    parser = make_parser("test")
    parser.prog = "tool.py"
    parser.add_argument("--days", type=bounded("--days"))
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--days", "nan"])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        "tool.py: error: argument --days: 'nan' must be a number above 0 up to 3650 days "
        "(see tool.py --help)\n")


def test_retry_warnings_go_to_the_log_file_at_debug_level(tmp_path: Path) -> None:
    """No network: stderr says which exchange failed; urllib3's retries are only in the log."""
    with socket.socket() as closed:  # bound, not listening: connections are refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
        env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'funding.db'}",
                   RUNTIME_DIR=str(tmp_path / "run"), LOG_DIR=str(tmp_path / "logs"),
                   SIMULATOR_URL="", HTTP_MAX_RETRIES="2", LOG_LEVEL="DEBUG",
                   BINANCE_BASE_URL=f"http://127.0.0.1:{port}",
                   OKX_BASE_URL=f"http://127.0.0.1:{port}")
        done = subprocess.run(
            [sys.executable, "scripts/collect_funding_rates.py", "--once", "--exchanges",
             "binance,okx"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
            check=False)
    assert "Traceback" not in done.stderr
    assert "urllib3" not in done.stderr and "Retrying" not in done.stderr, done.stderr
    assert "binance" in done.stderr and "okx" in done.stderr
    log = (tmp_path / "logs" / "data_collector.log").read_text(encoding="utf-8")
    retries = [line for line in log.splitlines() if "Retrying" in line]
    assert len(retries) == 4, log  # two exchanges, two retries each
    assert all(" DEBUG urllib3.connectionpool: " in line for line in retries)
