"""Function URL configurations: one per function qualifier (``$LATEST`` or an alias), by URL id.

The URL id is derived from the account, function and qualifier, so a URL deleted and created
again is the same URL, as on AWS. Configurations are held in memory (looked up per request by
id) and written to the store first.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ResourceConflict, ResourceNotFound
from ..store.resources import ResourceStore
from .service import FunctionEntry, FunctionService, timestamp

# <url-id>.lambda-url.<region>.localhost[:port] (also AWS's own on.aws suffix, for copied URLs)
URL_HOST = re.compile(r"^([a-z0-9]{32})\.lambda-url\.[a-z0-9-]+\.(?:localhost|on\.aws)(?::\d+)?$")
PATH_PREFIX = "/lambda-url/"


@dataclass
class UrlConfig:
    url_id: str
    function: str
    qualifier: str  # "$LATEST" or an alias name
    auth_type: str
    cors: dict[str, Any]
    invoke_mode: str
    created: str
    modified: str
    entry: FunctionEntry | None = field(default=None, repr=False, compare=False)

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        del row["entry"]
        return row


def url_id(account: str, function: str, qualifier: str) -> str:
    digest = hashlib.sha256(f"{account}:{function}:{qualifier}".encode()).digest()
    return base64.b32encode(digest).decode().lower()[:32]


class UrlService:
    def __init__(self, functions: FunctionService, store: ResourceStore) -> None:
        self.functions = functions
        self.store = store
        self._by_id: dict[str, UrlConfig] = {}
        for row in store.all_urls():
            config = UrlConfig(**row)
            try:
                config.entry = functions.lookup(config.function, _qualifier(config.qualifier))[0]
            except ResourceNotFound:
                continue
            self._by_id[config.url_id] = config

    def host(self, config: UrlConfig) -> str:
        return f"{config.url_id}.lambda-url.{self.functions.config.region}.localhost"

    def function_url(self, config: UrlConfig) -> str:
        return f"http://{self.host(config)}:{self.functions.config.port}/"

    def arn(self, config: UrlConfig) -> str:
        return self.functions.arn(config.function, _qualifier(config.qualifier))

    def shape(self, config: UrlConfig, *, modified: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "FunctionUrl": self.function_url(config),
            "FunctionArn": self.arn(config),
            "AuthType": config.auth_type,
            "CreationTime": config.created,
            "InvokeMode": config.invoke_mode,
        }
        if config.cors:
            body["Cors"] = config.cors
        if modified:
            body["LastModifiedTime"] = config.modified
        return body

    def live(self, config: UrlConfig) -> bool:
        """Whether the function (and alias) the URL was made for still exist."""
        try:
            entry, _ = self.functions.lookup(config.function, _qualifier(config.qualifier))
        except ResourceNotFound:
            return False
        return entry is config.entry

    def by_id(self, identifier: str) -> UrlConfig | None:
        config = self._by_id.get(identifier)
        return config if config is not None and self.live(config) else None

    def _find(self, name_or_arn: str, qualifier: str | None) -> tuple[FunctionEntry, str, UrlConfig | None]:
        entry, resolved = self.functions.lookup(name_or_arn, qualifier)
        if resolved != "$LATEST" and resolved not in entry.aliases:
            raise ResourceNotFound("The resource you requested does not exist.")
        identifier = url_id(self.functions.config.account_id, entry.latest.name, resolved)
        config = self._by_id.get(identifier)
        return entry, resolved, config if config is not None and self.live(config) else None

    def create(self, params: dict[str, Any]) -> UrlConfig:
        entry, resolved, existing = self._find(params["FunctionName"], params.get("Qualifier"))
        name = entry.latest.name
        if existing is not None:
            arn = self.functions.arn(name, _qualifier(resolved))
            raise ResourceConflict(
                f"Failed to create function url config for [functionArn = {arn}]. "
                "Error message:  FunctionUrlConfig exists for this Lambda function"
            )
        now = timestamp()
        config = UrlConfig(
            url_id=url_id(self.functions.config.account_id, name, resolved),
            function=name,
            qualifier=resolved,
            auth_type=params["AuthType"],
            cors=params.get("Cors") or {},
            invoke_mode=params.get("InvokeMode") or "BUFFERED",
            created=now,
            modified=now,
            entry=entry,
        )
        self.store.save_url(name, resolved, config.to_row())
        self._by_id[config.url_id] = config
        return config

    def get(self, name_or_arn: str, qualifier: str | None) -> UrlConfig:
        _, _, config = self._find(name_or_arn, qualifier)
        if config is None:
            raise ResourceNotFound("The resource you requested does not exist.")
        return config

    def update(self, params: dict[str, Any]) -> UrlConfig:
        config = self.get(params["FunctionName"], params.get("Qualifier"))
        changed = UrlConfig(
            **{
                **config.to_row(),
                "auth_type": params.get("AuthType", config.auth_type),
                "cors": params.get("Cors", config.cors),
                "invoke_mode": params.get("InvokeMode", config.invoke_mode),
                "modified": timestamp(),
            },
            entry=config.entry,
        )
        self.store.save_url(config.function, config.qualifier, changed.to_row())
        self._by_id[config.url_id] = changed
        return changed

    def delete(self, name_or_arn: str, qualifier: str | None) -> None:
        config = self.get(name_or_arn, qualifier)
        self.store.delete_url(config.function, config.qualifier)
        del self._by_id[config.url_id]

    def list(self, name_or_arn: str) -> list[UrlConfig]:
        entry = self.functions.resolve(name_or_arn)
        found = [c for c in self._by_id.values() if c.function == entry.latest.name and self.live(c)]
        return sorted(found, key=lambda c: (c.qualifier != "$LATEST", c.qualifier))


def _qualifier(resolved: str) -> str | None:
    return None if resolved == "$LATEST" else resolved
