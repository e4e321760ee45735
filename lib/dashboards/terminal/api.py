"""The API's routes the dashboard uses, over HTTP: health, cache clear, backfill start and stop,
shutdown.

The API answers errors as `{"error": {"code", "message", "details"}}`; `ApiReply.message` is
that message (or the HTTP reason when the body is not one). With the API_TOKEN setting set, every
request carries `Authorization: Bearer <token>`. A connection that fails is `ApiUnavailable`
(one line naming the URL): the callers then say the API is down, or act locally.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

from config.settings import Settings

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 1.5  # the probe runs every refresh: a hung API must not hold it up
ACTION_TIMEOUT_S = 15.0


class ApiUnavailable(Exception):
    """Nothing answers at the API's address (or it did not answer in time)."""


@dataclass(frozen=True)
class ApiReply:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def data(self) -> dict[str, Any]:
        """The `data` object of a successful answer (empty when there is none)."""
        data = self.body.get("data") if isinstance(self.body, dict) else None
        return data if isinstance(data, dict) else {}

    @property
    def message(self) -> str:
        """The API's own error message, or its reply's message, or the status code."""
        body = self.body
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict) and error.get("message"):
                return str(error["message"])
            if isinstance(body.get("message"), str):
                return str(body["message"])
            if isinstance(body.get("detail"), str):
                return str(body["detail"])
        return f"HTTP {self.status}"


def api_base_url(settings: Settings) -> str:
    """http://API_HOST:API_PORT, with a wildcard bind address turned into loopback."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.API_HOST,
                                                                         settings.API_HOST)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.API_PORT}"


class ApiClient:
    """One session to the API; safe to use from one worker thread at a time per call."""

    def __init__(self, settings: Settings, base_url: str | None = None) -> None:
        self.base_url = (base_url or api_base_url(settings)).rstrip("/")
        self.session = requests.Session()
        if settings.API_TOKEN:
            self.session.headers["Authorization"] = f"Bearer {settings.API_TOKEN}"

    def request(self, method: str, path: str, json: Any = None,
                timeout: float = ACTION_TIMEOUT_S) -> ApiReply:
        url = f"{self.base_url}{path}"
        try:
            response = self.session.request(method, url, json=json, timeout=timeout)
        except requests.RequestException as e:
            raise ApiUnavailable(f"the API at {self.base_url} is not reachable "
                                 f"({type(e).__name__})") from e
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return ApiReply(response.status_code, body)

    def health(self) -> ApiReply:
        return self.request("GET", "/api/health", timeout=HEALTH_TIMEOUT_S)

    def post(self, path: str, json: Any = None) -> ApiReply:
        return self.request("POST", path, json=json)

    def close(self) -> None:
        self.session.close()
