"""The one JSON error envelope, and how every failure becomes one.

Every error the API answers, whatever raised it (an unknown path, a wrong method, a bad query
parameter, a held lock, an unreachable database), has the body
`{"error": {"code": "...", "message": "...", "details": ...}}`, so the dashboards handle one
shape. Codes are stable snake_case words; messages are the one line a user reads.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.redact import redact_text
from lib.errors import (
    ConfigurationError,
    DatabaseError,
    FundingError,
    LockHeldError,
    NoDataError,
)
from lib.runtime.files import StatusFileError

logger = logging.getLogger(__name__)

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 422: "invalid_parameter",
               503: "unavailable"}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


# Declared on every router, so the OpenAPI schema shows the envelope, not FastAPI's own shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Not found, or no data stored yet"},
    422: {"model": ErrorBody, "description": "A bad parameter"},
    503: {"model": ErrorBody, "description": "The database or a runtime file is unusable"},
}


# Declared on every mutating route (see lib.api.security).
CONTROL_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "API_TOKEN is set and the bearer token is not it"},
    403: {"model": ErrorBody, "description": "No API_TOKEN set and the client is not loopback"},
}


class ApiError(Exception):
    """An answer other than 2xx that a route decides on: status, code, message, details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, jsonable_encoder(details)), status_code=status,
                        headers=headers)


def bad_parameter(name: str, message: str) -> ApiError:
    """A 422 naming one query parameter, in the shape FastAPI's own validation errors take."""
    return ApiError(422, "invalid_parameter", f"{name}: {message}",
                    [{"loc": ["query", name], "msg": message}])


def _from_funding_error(e: FundingError) -> ApiError:
    """Our own error types, each to the status a client can act on."""
    message = redact_text(str(e))
    if isinstance(e, LockHeldError):
        return ApiError(409, "lock_held", message)
    if isinstance(e, NoDataError):
        return ApiError(404, "no_data", message)
    if isinstance(e, DatabaseError):
        return ApiError(503, "database_unavailable", message)
    if isinstance(e, StatusFileError):
        return ApiError(503, "status_file_unusable", message)
    if isinstance(e, ConfigurationError):
        return ApiError(422, "invalid_parameter", message)
    return ApiError(503, "unavailable", message)


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure through the envelope."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, e: ApiError) -> JSONResponse:
        return error_response(e.status, e.code, e.message, e.details, e.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, e: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(e.status_code, f"http_{e.status_code}")
        message = e.detail if isinstance(e.detail, str) else code.replace("_", " ")
        if e.status_code == 404 and message == "Not Found":
            message = "no such route or resource"
        return error_response(e.status_code, code, message, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, e: RequestValidationError) -> JSONResponse:
        problems = [{"loc": list(err.get("loc", ())), "msg": err.get("msg", "")}
                    for err in e.errors()]
        first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"][1:]) or "request"
        return error_response(422, "invalid_parameter", f"{where}: {first['msg']}", problems)

    @app.exception_handler(FundingError)
    async def _funding_error(_request: Request, e: FundingError) -> JSONResponse:
        api = _from_funding_error(e)
        return error_response(api.status, api.code, api.message, api.details)

    @app.exception_handler(sa_exc.SQLAlchemyError)
    async def _database_error(request: Request, e: sa_exc.SQLAlchemyError) -> JSONResponse:
        return _database_unavailable(request, e)

    @app.exception_handler(sqlite3.Error)
    async def _sqlite_error(request: Request, e: sqlite3.Error) -> JSONResponse:
        return _database_unavailable(request, e)


def _database_unavailable(request: Request, e: Exception) -> JSONResponse:
    """A database that is down, missing its schema or locked: 503, one line, no traceback."""
    from lib.storage.engine import translate_error  # engine pulls in the drivers

    line = str(translate_error(e, request.app.state.settings.database_url))
    logger.warning("database error answering %s: %s", request.url.path, line)
    return error_response(503, "database_unavailable", line)
