"""Masking of secrets (database passwords) in anything shown to a user or written to a file.

Why here: `DATABASE_URL` carries the PostgreSQL password, and a URL ends up in error messages,
logs, status and metrics files. Every such place calls `redact_url` (a value known to be a URL)
or `redact_text` (free text that may contain URLs: an exception message, a log line);
`RedactingFormatter` applies `redact_text` to every log record, tracebacks included.
Masking works on the text, not on a parsed URL, so a malformed URL is masked too.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

# scheme://user:<secret>@ ; the secret runs to the last "@" so a password containing "@" (or
# "/", which a well-formed URL would percent-encode) is masked whole. Over-masking is harmless.
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*:/{0,2}"  # slashes optional: "postgresql:/u:pw@h" is typed too
_USERINFO_URL = re.compile(rf"^(?P<head>{_SCHEME}[^:/?#@\s]*):(?P<secret>.*)@", re.DOTALL)
_USERINFO_TEXT = re.compile(rf"(?P<head>{_SCHEME}[^:/?#@\s]*):(?P<secret>\S*)@")
# scheme://user:<secret> with no "@": not a port (digits), so it can only be a password.
_NO_HOST = re.compile(rf"^(?P<head>{_SCHEME}[^:/?#@\[\]\s]*):(?P<secret>[^/?#@]*)")
# libpq's keyword form and query parameters: password=<secret>
_PASSWORD_PARAM = re.compile(r"(?i)(?P<head>\bpassword=)(?P<secret>[^\s&;'\"]*)")


def redact_url(url: str) -> str:
    """`url` with its password replaced by `***`; any text is accepted, parseable or not.

    >>> redact_url("postgresql://postgres:S3cret@db:5432/x")
    'postgresql://postgres:***@db:5432/x'
    """
    masked, count = _USERINFO_URL.subn(rf"\g<head>:{MASK}@", url, count=1)
    if not count:
        no_host = _NO_HOST.match(url)
        if no_host and no_host["secret"] and not no_host["secret"].isdigit():
            masked = _NO_HOST.sub(rf"\g<head>:{MASK}", url, count=1)
    return _PASSWORD_PARAM.sub(rf"\g<head>{MASK}", masked)


def redact_text(text: str) -> str:
    """`text` with the password of every URL in it (and every `password=`) replaced by `***`.

    URLs are found as words (no white space), so use `redact_url` for a value known to be a URL.
    """
    masked = _USERINFO_TEXT.sub(rf"\g<head>:{MASK}@", text)
    return _PASSWORD_PARAM.sub(rf"\g<head>{MASK}", masked)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose output, traceback included, never shows a password."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))
