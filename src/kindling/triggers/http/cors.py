"""A function URL's ``Cors`` configuration, applied the way Lambda applies it.

Lambda answers preflight ``OPTIONS`` requests itself and adds ``Access-Control-*`` headers to
the function's responses, replacing any the function set, when the origin is allowed.
"""

from __future__ import annotations

from typing import Any

from .events import HttpRequest
from .responses import HttpResponse


def _allowed_origin(cors: dict[str, Any], origin: str | None) -> str | None:
    if origin is None:
        return None
    origins = [o.lower() for o in cors.get("AllowOrigins") or []]
    if "*" in origins:
        return origin if cors.get("AllowCredentials") else "*"
    return origin if origin.lower() in origins else None


def is_preflight(cors: dict[str, Any] | None, request: HttpRequest) -> bool:
    return (
        bool(cors)
        and request.method == "OPTIONS"
        and request.header("origin") is not None
        and request.header("access-control-request-method") is not None
    )


def preflight(cors: dict[str, Any], request: HttpRequest) -> HttpResponse:
    response = HttpResponse(200)
    origin = _allowed_origin(cors, request.header("origin"))
    if origin is None:
        return response
    wanted = (request.header("access-control-request-method") or "").upper()
    methods = [m.upper() for m in cors.get("AllowMethods") or []]
    if methods and "*" not in methods and wanted not in methods:
        return response
    headers = [("access-control-allow-origin", origin)]
    if methods:
        headers.append(("access-control-allow-methods", ",".join(methods)))
    if cors.get("AllowHeaders"):
        headers.append(("access-control-allow-headers", ",".join(cors["AllowHeaders"]).lower()))
    if cors.get("AllowCredentials"):
        headers.append(("access-control-allow-credentials", "true"))
    if "MaxAge" in cors:
        headers.append(("access-control-max-age", str(cors["MaxAge"])))
    headers.append(("vary", "Origin"))
    response.headers = headers
    return response


def decorate(cors: dict[str, Any], request: HttpRequest, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers of an actual (non-preflight) response with the configured CORS headers in place."""
    kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
    origin = _allowed_origin(cors, request.header("origin"))
    if origin is not None:
        kept.append(("access-control-allow-origin", origin))
        if cors.get("ExposeHeaders"):
            kept.append(("access-control-expose-headers", ",".join(cors["ExposeHeaders"]).lower()))
        if cors.get("AllowCredentials"):
            kept.append(("access-control-allow-credentials", "true"))
        kept.append(("vary", "Origin"))
    return kept
