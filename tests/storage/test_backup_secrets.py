"""The database password never reaches a command line (`ps` shows those) or a message."""

from __future__ import annotations

from lib.storage.backup import _libpq_url
from lib.storage.engine import translate_error


def test_pg_tools_get_the_password_apart_from_the_url() -> None:
    dbname, password = _libpq_url("postgresql+psycopg2://funding:S3cret@db.example:5433/x")
    assert dbname == "postgresql://funding@db.example:5433/x"
    assert password == "S3cret"
    assert _libpq_url("postgresql://funding@db.example/x") == (
        "postgresql://funding@db.example/x", None)


def test_unrecognised_driver_errors_are_masked() -> None:
    error = RuntimeError("server said: bad dsn postgresql://funding:S3cret@db.example/x")
    message = str(translate_error(error, "postgresql://funding:S3cret@db.example/x"))
    assert "S3cret" not in message
    assert message.startswith("PostgreSQL at db.example:5432/x: server said: bad dsn ")


def test_a_connect_timeout_is_not_called_a_refusal() -> None:
    error = RuntimeError("connection to server at 10.0.0.1, port 5432 failed: timeout expired")
    assert str(translate_error(error, "postgresql://u@10.0.0.1/x")) == (
        "cannot connect to PostgreSQL at 10.0.0.1:5432/x: timed out (is the host reachable?)")
