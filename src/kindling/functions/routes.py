"""Route tables: several functions under one base path, as API Gateway HTTP and REST APIs do.

The control plane's side: definitions checked, compiled, stored and found by path. Routes are
``METHOD /path`` keys with ``{param}`` and a trailing ``{proxy+}``, or ``$default``; the most specific
match wins, as in API Gateway: literal segments over parameters over greedy paths, an exact method
over ``ANY``. Configured through ``/kindling/apis`` (``api/routes/route_tables.py``) and served under
their base path by the HTTP front (``triggers/http/apis.py``).
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParameterValue, ResourceNotFound
from ..store.resources import ResourceStore
from .service import FunctionService

Lookup = Callable[[str, str | None], object]
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}
_RESERVED = ("/kindling", "/lambda-url", "/health", "/20", "/console")
_BASE = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")
_SEGMENT = re.compile(r"^(\{[A-Za-z0-9_]+\+?\}|[A-Za-z0-9._~:@!$&'()*,;=-]+)$")


@dataclass(frozen=True)
class RouteSpec:
    key: str
    method: str
    segments: tuple[str, ...]
    function: str
    qualifier: str | None
    payload_version: str

    def match(self, method: str, parts: list[str]) -> dict[str, str] | None:
        if self.key != "$default" and self.method not in ("ANY", method):
            return None
        if self.key == "$default":
            return {}
        found: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.endswith("+}"):
                rest = parts[index:]
                if not rest:
                    return None
                found[segment[1:-2]] = "/".join(rest)
                return found
            if index >= len(parts):
                return None
            if segment.startswith("{"):
                found[segment[1:-1]] = parts[index]
            elif segment != parts[index]:
                return None
        return found if len(parts) == len(self.segments) else None

    def rank(self) -> tuple[int, ...]:
        if self.key == "$default":
            return (-1,)
        greedy = any(s.endswith("+}") for s in self.segments)
        literal = sum(not s.startswith("{") for s in self.segments)
        return (0 if greedy else 1, literal, len(self.segments), self.method != "ANY")


@dataclass(frozen=True)
class HttpApi:
    api_id: str
    name: str
    base_path: str
    stage: str
    payload_version: str
    routes: tuple[RouteSpec, ...]
    document: dict[str, Any]  # as configured, returned as is

    def find(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
        parts = [p for p in path.split("/") if p]
        best: tuple[tuple[int, ...], RouteSpec, dict[str, str]] | None = None
        for route in self.routes:
            found = route.match(method, parts)
            if found is not None and (best is None or route.rank() > best[0]):
                best = (route.rank(), route, found)
        return None if best is None else (best[1], best[2])


def _version(value: Any) -> str:
    if value not in ("1.0", "2.0"):
        raise InvalidParameterValue(f"PayloadFormatVersion must be 1.0 or 2.0, not {value!r}")
    return value


def parse_api(api_id: str, body: Any, others: Iterable[HttpApi], check: Lookup | None) -> HttpApi:
    """An API definition checked and compiled; ``check`` confirms each route's function exists."""
    if not isinstance(body, dict):
        raise InvalidParameterValue("The request body must be a JSON object.")
    base = body.get("BasePath")
    if not isinstance(base, str) or not _BASE.match(base) or base.startswith(_RESERVED):
        raise InvalidParameterValue(
            f"BasePath must look like /name[/name...] and not start with {', '.join(_RESERVED)}."
        )
    for other in others:
        nested = other.base_path.startswith(base + "/") or base.startswith(other.base_path + "/")
        if other.api_id != api_id and (other.base_path == base or nested):
            raise InvalidParameterValue(f"BasePath {base} overlaps the one of API {other.api_id}.")
    version = _version(body.get("PayloadFormatVersion", "2.0"))
    routes = body.get("Routes")
    if not isinstance(routes, list) or not routes:
        raise InvalidParameterValue("Routes must be a non-empty list.")
    specs = [_route(item, version, check) for item in routes]
    keys = [s.key for s in specs]
    if len(set(keys)) != len(keys):
        raise InvalidParameterValue("Each RouteKey may appear once.")
    name, stage = str(body.get("Name") or api_id), str(body.get("Stage") or "$default")
    document = {
        "ApiId": api_id,
        "Name": name,
        "BasePath": base,
        "Stage": stage,
        "PayloadFormatVersion": version,
        "Routes": routes,
    }
    return HttpApi(api_id, name, base, stage, version, tuple(specs), document)


def _route(item: Any, version: str, check: Lookup | None) -> RouteSpec:
    if not isinstance(item, dict) or not isinstance(item.get("RouteKey"), str) or not item.get("Function"):
        raise InvalidParameterValue("Each route needs a RouteKey ('GET /items/{id}' or '$default') and a Function.")
    key = item["RouteKey"]
    method, _, path = key.partition(" ")
    segments = tuple(p for p in path.split("/") if p)
    if key != "$default":
        valid = method in METHODS and path.startswith("/") and all(_SEGMENT.match(s) for s in segments)
        if not valid or any(s.endswith("+}") for s in segments[:-1]):
            raise InvalidParameterValue(f"Invalid RouteKey {key!r}.")
    function, _, qualifier = str(item["Function"]).partition(":")
    if check is not None:
        check(function, qualifier or None)
    payload_version = _version(item.get("PayloadFormatVersion", version))
    return RouteSpec(key, method, segments, function, qualifier or None, payload_version)


class RouteTables:
    def __init__(self, functions: FunctionService, store: ResourceStore) -> None:
        self.functions = functions
        self.store = store
        self._apis: dict[str, HttpApi] = {}
        for document in store.all_apis():
            self._apis[document["ApiId"]] = self._parse(document["ApiId"], document, check_functions=False)
        self.prefixes = self._prefixes()

    def _prefixes(self) -> tuple[str, ...]:
        return tuple(api.base_path for api in self._apis.values())

    def _parse(self, api_id: str, body: Any, check_functions: bool = True) -> HttpApi:
        return parse_api(api_id, body, self._apis.values(), self.functions.lookup if check_functions else None)

    def _save(self, api: HttpApi) -> dict[str, Any]:
        self.store.save_api(api.api_id, api.document)
        self._apis[api.api_id] = api
        self.prefixes = self._prefixes()
        return self.shape(api)

    def shape(self, api: HttpApi) -> dict[str, Any]:
        return {**api.document, "Endpoint": f"{self.functions.config.endpoint}{api.base_path}"}

    def get(self, api_id: str) -> HttpApi:
        api = self._apis.get(api_id)
        if api is None:
            raise ResourceNotFound(f"API not found: {api_id}")
        return api

    def all(self) -> list[HttpApi]:
        return sorted(self._apis.values(), key=lambda a: a.api_id)

    def create(self, document: Any) -> dict[str, Any]:
        new_id = "".join(random.choices(string.ascii_lowercase + string.digits, k=10))
        return self._save(self._parse(new_id, document))

    def replace(self, api_id: str, document: Any) -> dict[str, Any]:
        return self._save(self._parse(self.get(api_id).api_id, document))

    def delete(self, api_id: str) -> None:
        api = self.get(api_id)
        self.store.delete_api(api.api_id)
        del self._apis[api.api_id]
        self.prefixes = self._prefixes()

    def api_for(self, path: str) -> HttpApi | None:
        for api in self._apis.values():
            if path == api.base_path or path.startswith(api.base_path + "/"):
                return api
        return None
