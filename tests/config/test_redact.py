"""Password masking: URLs well-formed or not, free text, and log records with tracebacks."""

from __future__ import annotations

import io
import logging

import pytest

from config.redact import RedactingFormatter, redact_text, redact_url

SECRET = "S3cret-Pw"


@pytest.mark.parametrize("url, masked", [
    (f"postgresql://postgres:{SECRET}@db:5432/x", "postgresql://postgres:***@db:5432/x"),
    (f"postgresql+psycopg2://u:{SECRET}@h/x", "postgresql+psycopg2://u:***@h/x"),
    (f"postgresq://postgres:{SECRET}@h", "postgresq://postgres:***@h"),
    (f"postgresql:/postgres:{SECRET}@h/x", "postgresql:/postgres:***@h/x"),
    (f"postgresql:postgres:{SECRET}@h/x", "postgresql:postgres:***@h/x"),
    (f"postgresql://u:p@{SECRET}@h:5/d", "postgresql://u:***@h:5/d"),
    (f"postgresql://u:{SECRET}/x@h/d", "postgresql://u:***@h/d"),
    (f"postgresql://u:{SECRET} with space@h/d", "postgresql://u:***@h/d"),
    (f"postgresql://postgres:{SECRET}", "postgresql://postgres:***"),
    (f"postgresql://[::1:{SECRET}@h", "postgresql://[:***@h"),
    (f"postgresql://:{SECRET}@h/d", "postgresql://:***@h/d"),
    (f"postgresql://u@h/db?sslmode=require&password={SECRET}",
     "postgresql://u@h/db?sslmode=require&password=***"),
    # nothing to hide
    ("postgresql://h:5432/db", "postgresql://h:5432/db"),
    ("postgresql://u@h:99999/db", "postgresql://u@h:99999/db"),
    ("sqlite:////tmp/a:b@c/funding.db", "sqlite:////tmp/a:b@c/funding.db"),
    ("http://127.0.0.1:8900/binance", "http://127.0.0.1:8900/binance"),
    ("", ""),
])
def test_redact_url(url: str, masked: str) -> None:
    assert redact_url(url) == masked
    assert SECRET not in redact_url(url)


def test_redact_text_masks_every_url_and_password_keyword() -> None:
    text = (f"could not open 'postgresql://a:{SECRET}@h1/x' nor postgresql://b:{SECRET}@h2/y; "
            f"dsn host=h password={SECRET} dbname=x")
    assert redact_text(text) == ("could not open 'postgresql://a:***@h1/x' nor "
                                 "postgresql://b:***@h2/y; dsn host=h password=*** dbname=x")


def test_redacting_formatter_masks_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test_redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        url = f"postgresql://postgres:{SECRET}@127.0.0.1/x"
        logger.warning("connecting to %s", url)
        try:
            raise RuntimeError(f"cannot reach {url}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert SECRET not in out
    assert "WARNING connecting to postgresql://postgres:***@127.0.0.1/x" in out
    assert "RuntimeError: cannot reach postgresql://postgres:***@127.0.0.1/x" in out
