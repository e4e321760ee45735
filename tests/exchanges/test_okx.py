"""OKX parse functions on real recorded replies (../shared/exchange-responses/okx/: captures
from www.okx.com by other projects; ccxt has none), the docs' examples, our simulator
recordings, and malformed replies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from recorded_replies import (
    check_contracts,
    check_history,
    drop,
    mutated,
    real_reply,
    recording,
    set_to,
    shared_files,
)

from lib.errors import ExchangeDataError, ExchangeError, TemporaryExchangeError
from lib.exchanges.venues.okx import (
    FUNDING_RATE,
    MARK_PRICE,
    OPEN_INTEREST,
    parse_contracts,
    parse_current,
    parse_history,
    parse_intervals,
    parse_prices,
)
from lib.timeutils import from_ms, to_ms

OBSERVED = datetime(2026, 1, 1, tzinfo=UTC)

# exchange-apis.md §3.1, §3.2, §3.4: the documented examples.
DOC_FUNDING = {
    "code": "0", "msg": "",
    "data": [
        {"formulaType": "noRate", "fundingRate": "0.0000182221218054",
         "fundingTime": "1743609600000", "impactValue": "", "instId": "BTC-USDT-SWAP",
         "instType": "SWAP", "interestRate": "", "maxFundingRate": "0.00375",
         "method": "current_period", "minFundingRate": "-0.00375", "nextFundingRate": "",
         "nextFundingTime": "1743638400000", "premium": "0.0000910113652644",
         "settFundingRate": "0.0000145824401745", "settState": "settled", "ts": "1743588686291"},
        {"fundingRate": "0.0001", "fundingTime": "1743595200000", "instId": "ETH-USD_UM_XPERP",
         "instType": "FUTURES", "nextFundingTime": "1743624000000", "ts": "1743588686291"},
    ],
}
DOC_HISTORY = {
    "code": "0", "msg": "",
    "data": [
        {"formulaType": "noRate", "fundingRate": "0.0000746604960499",
         "fundingTime": "1703059200000", "instId": "BTC-USD-SWAP", "instType": "SWAP",
         "method": "next_period", "realizedRate": "0.0000746572360545"},
        {"formulaType": "noRate", "fundingRate": "0.000227985782722",
         "fundingTime": "1703030400000", "instId": "BTC-USD-SWAP", "instType": "SWAP",
         "method": "next_period", "realizedRate": "0.0002279755647389"},
    ],
}
DOC_INSTRUMENTS = {
    "code": "0", "msg": "",
    "data": [
        {"instType": "SWAP", "instId": "BTC-USDT-SWAP", "uly": "BTC-USDT",
         "instFamily": "BTC-USDT", "baseCcy": "", "quoteCcy": "", "settleCcy": "USDT",
         "ctVal": "0.01", "ctMult": "1", "ctValCcy": "BTC", "ctType": "linear",
         "listTime": "1611916828000", "expTime": "", "lever": "100", "state": "live",
         "ruleType": "normal", "instCategory": "1"},
        {"instType": "SWAP", "instId": "BTC-USD-SWAP", "uly": "BTC-USD", "settleCcy": "BTC",
         "ctVal": "100", "ctValCcy": "USD", "ctType": "inverse", "listTime": "1573557408000",
         "state": "live", "ruleType": "normal"},
        {"instType": "SWAP", "instId": "NEW-USDT-SWAP", "uly": "NEW-USDT", "settleCcy": "USDT",
         "state": "preopen", "ruleType": "pre_market", "listTime": "1800000000000"},
    ],
}


def test_documented_funding_rate_and_interval() -> None:
    assert parse_intervals(DOC_FUNDING) == {"BTC-USDT-SWAP": 8.0}  # X-Perp FUTURES row left out
    (s,) = parse_current(DOC_FUNDING, {"BTC-USDT-SWAP": 84000.5}, {"BTC-USDT-SWAP": 1200.0},
                         OBSERVED)
    assert (s.symbol, s.funding_rate, s.funding_interval_hours) == (
        "BTC-USDT-SWAP", 0.0000182221218054, 8.0
    )
    assert to_ms(s.next_funding_time) == 1743609600000  # type: ignore[arg-type]  # fundingTime
    assert to_ms(s.timestamp) == 1743588686291
    assert (s.mark_price, s.index_price, s.open_interest) == (84000.5, None, 1200.0)


@pytest.mark.parametrize("hours", [1, 2, 4, 8])
def test_interval_is_next_minus_current(hours: int) -> None:
    row = DOC_FUNDING["data"][0]
    following = str(int(row["fundingTime"]) + hours * 3_600_000)
    payload = mutated(DOC_FUNDING, ["data", 0, "nextFundingTime"], set_to(following))
    assert parse_current(payload, None, None, OBSERVED)[0].funding_interval_hours == hours


def test_documented_history_uses_realized_rate() -> None:
    newest, older = parse_history(DOC_HISTORY, "BTC-USD-SWAP")
    assert (to_ms(newest.funding_time), newest.funding_rate) == (
        1703059200000, 0.0000746572360545  # realizedRate, not the predicted fundingRate
    )
    assert (to_ms(older.funding_time), older.funding_rate) == (1703030400000, 0.0002279755647389)
    old_row = mutated(DOC_HISTORY, ["data", 0, "realizedRate"], set_to(""))
    assert parse_history(old_row, "BTC-USD-SWAP")[0].funding_rate == 0.0000746604960499


def test_documented_instruments() -> None:
    intervals = {"BTC-USDT-SWAP": 8.0, "BTC-USD-SWAP": 4.0, "NEW-USDT-SWAP": 8.0}
    linear, inverse = parse_contracts(DOC_INSTRUMENTS, intervals)  # pre-market left out
    assert (linear.canonical_symbol, linear.base, linear.multiplier) == (
        "BTC/USDT:USDT", "BTC", 1.0
    )
    assert linear.listed_at == from_ms(1611916828000)
    assert (inverse.canonical_symbol, inverse.settle, inverse.funding_interval_hours) == (
        "BTC/USD:BTC", "BTC", 4.0
    )


def test_contract_without_a_funding_rate_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    contracts = parse_contracts(DOC_INSTRUMENTS, {"BTC-USDT-SWAP": 8.0})
    assert [c.symbol for c in contracts] == ["BTC-USDT-SWAP"]
    assert "okx BTC-USD-SWAP: contract skipped: no funding rate listed for it" in caplog.text


def test_every_real_reply_is_replayed() -> None:
    assert shared_files("okx") == [
        "real-funding-rate-ANY", "real-funding-rate-ETH-USDT-SWAP", "real-funding-rate-history",
        "real-instruments-SWAP",
    ]


def test_real_funding_rate_of_any() -> None:
    """instId=ANY cut to 5 rows by its recorder (2026): a 4-hourly swap, and an X-Perp FUTURES
    row that is left out."""
    reply = real_reply("okx", "real-funding-rate-ANY")
    assert parse_intervals(reply) == {
        "BTC-USDT-SWAP": 8.0, "ETH-USDT-SWAP": 8.0, "CHIP-USDT-SWAP": 4.0, "BTC-USD-SWAP": 8.0
    }
    snapshots = parse_current(reply, None, None, OBSERVED)
    assert [(s.symbol, s.funding_rate, to_ms(s.next_funding_time), to_ms(s.timestamp))  # type: ignore[arg-type]
            for s in snapshots] == [
        ("BTC-USDT-SWAP", 0.0000593556502673, 1789171200000, 1789147104593),
        ("ETH-USDT-SWAP", 0.0000662141760313, 1789171200000, 1789147104642),
        ("CHIP-USDT-SWAP", 0.00005, 1789156800000, 1789147104363),
        ("BTC-USD-SWAP", 0.0001, 1789171200000, 1789147104568),
    ]


def test_real_funding_rate_of_one_swap() -> None:
    (s,) = parse_current(real_reply("okx", "real-funding-rate-ETH-USDT-SWAP"), None, None,
                         OBSERVED)
    assert (s.symbol, s.funding_rate, s.funding_interval_hours) == (
        "ETH-USDT-SWAP", 0.0000479222256351, 8.0
    )
    assert (to_ms(s.next_funding_time), to_ms(s.timestamp)) == (1789689600000, 1789677909944)  # type: ignore[arg-type]


def test_real_history_is_what_settled() -> None:
    """Three BTC-USDT-SWAP settlements, newest first; the newest `realizedRate` is the
    `settFundingRate` the funding-rate capture (another project's) reports."""
    events = parse_history(real_reply("okx", "real-funding-rate-history"), "BTC-USDT-SWAP")
    assert [(to_ms(e.funding_time), e.funding_rate) for e in events] == [
        (1789142400000, 0.0000599316422609),
        (1789113600000, 0.0000402928520367),
        (1789084800000, 0.0000876022471315),
    ]
    current = real_reply("okx", "real-funding-rate-ANY")["data"][0]
    assert (current["instId"], current["prevFundingTime"]) == ("BTC-USDT-SWAP", "1789142400000")
    assert events[0].funding_rate == float(current["settFundingRate"])


def test_real_instruments() -> None:
    """The whole SWAP list of 2022-05 (166 swaps, 40 of them inverse, settled in the coin).
    Its swaps are not in the 2026 funding-rate capture, so they are logged and left out
    there; given an interval each, every name parses, with no multiplier (OKX puts small-coin
    sizes in ctVal)."""
    reply = real_reply("okx", "real-instruments-SWAP")
    rows = reply["data"]
    known = parse_intervals(real_reply("okx", "real-funding-rate-ANY"))
    assert [c.symbol for c in parse_contracts(reply, known)] == [
        "BTC-USD-SWAP", "BTC-USDT-SWAP", "ETH-USDT-SWAP"
    ]
    contracts = parse_contracts(reply, {row["instId"]: 8.0 for row in rows})
    assert [c.symbol for c in contracts] == [row["instId"] for row in rows]
    assert len(contracts) == 166
    for c, row in zip(contracts, rows, strict=True):
        base, quote = row["uly"].split("-")
        settle = base if row["ctType"] == "inverse" else "USDT"
        assert (c.canonical_symbol, c.multiplier) == (f"{base}/{quote}:{settle}", 1.0), c.symbol
        assert c.listed_at == from_ms(row["listTime"]), c.symbol
    assert sum(c.settle == c.base for c in contracts) == 40
    assert contracts[0].listed_at == datetime(2021, 1, 29, 10, 40, 28, tzinfo=UTC)


def test_simulator_recorded_contracts() -> None:
    record = recording("okx", "instruments")
    intervals = parse_intervals(recording("okx", "funding_rate")["response"])
    contracts = parse_contracts(record["response"], intervals)
    check_contracts(contracts, record)
    assert {c.funding_interval_hours for c in contracts} == {1.0, 4.0, 8.0}


def test_simulator_recorded_funding_rate() -> None:
    record = recording("okx", "funding_rate")
    snapshots = {s.symbol: s for s in parse_current(record["response"], None, None, OBSERVED)}
    truth = record["expected"]["current"]
    assert set(snapshots) == {t["symbol"] for t in truth}
    for t in truth:
        s = snapshots[t["symbol"]]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-18)
        assert s.funding_interval_hours == t["interval_hours"]
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]  # type: ignore[arg-type]


def test_simulator_recorded_history() -> None:
    record = recording("okx", "history")
    events = parse_history(record["response"], record["symbol"])
    assert len(check_history(events, record)) == 7
    predicted = [float(r["fundingRate"]) for r in record["response"]["data"]]
    assert predicted != [e.funding_rate for e in events]  # the settled rate was taken


def test_bulk_extras() -> None:
    marks = {"code": "0", "msg": "", "data": [
        {"instType": "SWAP", "instId": "BTC-USDT-SWAP", "markPx": "84000.5", "ts": "1"},
        {"instType": "SWAP", "instId": "ETH-USDT-SWAP", "markPx": "", "ts": "1"},
    ]}
    assert parse_prices(marks, MARK_PRICE, "markPx") == {"BTC-USDT-SWAP": 84000.5}
    interest = {"code": "0", "msg": "", "data": [
        {"instType": "SWAP", "instId": "BTC-USDT-SWAP", "oi": "120000", "oiCcy": "1200",
         "ts": "1"},
    ]}
    assert parse_prices(interest, OPEN_INTEREST, "oiCcy") == {"BTC-USDT-SWAP": 1200.0}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (mutated(DOC_FUNDING, ["data", 0, "fundingRate"], drop), "missing field 'fundingRate'"),
        (mutated(DOC_FUNDING, ["data", 0, "fundingRate"], set_to("")),
         "field 'fundingRate' has bad value ''"),
        (mutated(DOC_FUNDING, ["data", 0, "nextFundingTime"], drop),
         "missing field 'nextFundingTime'"),
        (mutated(DOC_FUNDING, ["data", 0, "nextFundingTime"], set_to("1743609600000")),
         "BTC-USDT-SWAP: 'nextFundingTime' 1743609600000 is not after 'fundingTime'"),
        (mutated(DOC_FUNDING, ["data"], set_to({"instId": "BTC-USDT-SWAP"})),
         "expected objects"),
        (mutated(DOC_FUNDING, ["code"], drop), "missing field 'code'"),
        ([], "expected a JSON object, got list"),
    ],
)
def test_malformed_funding_rate(payload: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=f"^okx: {FUNDING_RATE}: ") as e:
        parse_current(payload, None, None, OBSERVED)
    assert message in str(e.value)


def test_malformed_history_and_instruments() -> None:
    with pytest.raises(ExchangeDataError, match="'realizedRate' has bad value 'n/a'"):
        parse_history(mutated(DOC_HISTORY, ["data", 1, "realizedRate"], set_to("n/a")), "X")
    with pytest.raises(ExchangeDataError, match="missing field 'fundingTime'"):
        parse_history(mutated(DOC_HISTORY, ["data", 1, "fundingTime"], drop), "X")
    with pytest.raises(ExchangeDataError, match="missing field 'uly'"):
        parse_contracts(mutated(DOC_INSTRUMENTS, ["data", 0, "uly"], drop), {})


def test_error_envelope_names_the_code() -> None:
    missing = {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
    with pytest.raises(ExchangeError, match="error 51001: Instrument ID does not exist") as e:
        parse_history(missing, "NOPE-USDT-SWAP")
    assert not isinstance(e.value, (ExchangeDataError, TemporaryExchangeError))
    busy = {"msg": "Too Many Requests", "code": "50011", "data": []}
    with pytest.raises(TemporaryExchangeError, match="error 50011: Too Many Requests"):
        parse_current(busy, None, None, OBSERVED)
