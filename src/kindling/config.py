"""Server configuration: one frozen object, built once by the CLI and passed down."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SANDBOX_BACKENDS = ("auto", "namespaces", "process")
AUTH_MODES = ("iam", "open")


@dataclass(frozen=True)
class Config:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 9000
    region: str = "us-east-1"
    account_id: str = "000000000000"
    sandbox: str = "auto"
    network: bool = True  # False: environments get an empty network namespace
    # ``--egress NAME=CIDR:PORT,...``: the function's environments get an empty network namespace of their own,
    # from which only Kindling's endpoint and these (CIDR, port) pairs are reachable
    egress: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    keep_alive_s: float = 600.0  # idle environments are reclaimed after this long
    min_free_memory_mb: float = 512.0  # below this, idle environments are reclaimed, least recently used first
    account_concurrency: int = 1000
    unreserved_minimum: int = 100
    uid_base: int = 61000  # environments run as uid_base + slot, never as root
    uid_count: int = 4000
    cpu_quota: bool = True  # CPU in proportion to memory (1,769 MB = 1 vCPU) after init
    cpu_priority: bool = True  # the server, its zygotes and environments ahead of other host load (README)
    runtime_paths: dict[str, str] = field(default_factory=dict)  # "python3.12" -> interpreter
    sqs_endpoint: str = ""  # an SQS-compatible API for dead-letter queues and SQS destinations
    # AWS services served elsewhere: "sqs" -> "http://host:port" (``--service-endpoint``, repeatable)
    service_endpoints: dict[str, str] = field(default_factory=dict)
    # the keys the platform's own clients sign with on its port (server.py sets the root identity's)
    platform_keys: tuple[str, str] = ("kindling", "kindling")
    auth: str = "open"  # "iam": every request signed by a known key and authorized by IAM policies
    audit_retention_days: float = 90.0  # the audit trail keeps events this long
    tls_cert: str = ""  # with tls_key: HTTPS on the port
    tls_key: str = ""
    otlp_endpoint: str = ""  # an OTLP collector (HTTP, or gRPC: grpc://) for the traces of sampled invocations

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.tls_cert else 'http'}://{self.host}:{self.port}"

    def endpoint_for(self, service: str) -> str:
        """Where the platform itself reaches an AWS service (``sqs``, ``s3``, ``dynamodb``...): the endpoint
        the operator named for it, else this server, which serves them all on its one port."""
        if service == "sqs" and self.sqs_endpoint:
            return self.service_endpoints.get(service, self.sqs_endpoint)
        return self.service_endpoints.get(service, self.endpoint)

    @staticmethod
    def runtime_overrides_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """``KINDLING_RUNTIME_PYTHON3_12=/usr/bin/python3.12`` style overrides."""
        prefix = "KINDLING_RUNTIME_"
        found = {}
        for key, value in (os.environ if environ is None else environ).items():
            if key.startswith(prefix) and value:
                found[key[len(prefix) :].lower().replace("_", ".")] = value
        return found


def egress_rule(text: str) -> tuple[str, int]:
    """``CIDR:PORT`` (or ``ADDRESS:PORT``, a /32) as a rule; ValueError for anything else, or for a network that
    reaches the host's loopback or the whole Internet (what ``--egress`` is not for)."""
    cidr, _, port = text.strip().rpartition(":")
    network = ipaddress.IPv4Network(cidr, strict=False)
    if not 0 < int(port) < 65536:
        raise ValueError(f"{port} is not a port")
    if network.overlaps(ipaddress.IPv4Network("127.0.0.0/8")) or network.overlaps(ipaddress.IPv4Network("0.0.0.0/8")):
        raise ValueError(f"{network} reaches the host's loopback or 0.0.0.0/8")
    return str(network), int(port)
