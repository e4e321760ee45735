"""The project's error hierarchy.

Vendor exceptions (requests, SQLAlchemy, json) are translated into these at the edge, with
``raise ... from e``, so that entry points can print one clear line for any known failure and a
traceback only for a bug.
"""

from __future__ import annotations


class FundingError(Exception):
    """Base of every known failure; its message is the one line a user sees."""

    exit_code = 2


class ConfigurationError(FundingError):
    """A setting, flag or argument is wrong: stop, retrying will not help."""


class DatabaseError(FundingError):
    """The database cannot be reached, opened or used."""


class SchemaError(DatabaseError):
    """The database schema is not what this code expects (missing table, newer version...)."""


class NoDataError(FundingError):
    """The database holds nothing yet for the job asked for (e.g. analytics before a backfill)."""


class LockHeldError(FundingError):
    """Another process holds a lock this job needs."""

    exit_code = 75  # EX_TEMPFAIL: cron and supervisors read it as "try again later"


class ExchangeError(FundingError):
    """Something went wrong talking to an exchange."""

    def __init__(self, exchange: str, message: str) -> None:
        super().__init__(f"{exchange}: {message}")
        self.exchange = exchange


class TemporaryExchangeError(ExchangeError):
    """Timeouts, 5xx, 429: worth retrying later."""


class ExchangeDataError(ExchangeError):
    """A reply we cannot parse; names the endpoint and the field."""

    def __init__(self, exchange: str, endpoint: str, detail: str) -> None:
        super().__init__(exchange, f"{endpoint}: {detail}")
        self.endpoint = endpoint
        self.detail = detail


class UnknownSymbolError(FundingError):
    """A native symbol whose pattern we do not know: never silently mismatched."""

    def __init__(self, exchange: str, symbol: str, reason: str = "unknown symbol pattern") -> None:
        super().__init__(f"{exchange}: {symbol!r}: {reason}")
        self.exchange = exchange
        self.symbol = symbol
