"""What a function's code calls AWS with: Kindling's endpoint as the sandbox reaches it, and credentials.

Every environment gets ``AWS_ENDPOINT_URL``, so unmodified SDK calls (boto3, the AWS SDK for JavaScript v3,
the AWS CLI) land on this server, and its execution role's temporary credentials (``ASIA…`` with a session
token), minted when the environment is made: the function acts as
``arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION`` and the role's policies decide what it may do.
Credentials last ``session_s``; an environment is recycled ``recycle_s`` after it was made, well before
they end, so no environment holds expired ones.
"""

from __future__ import annotations

import os
import re

from ..auth.directory import Directory
from ..config import Config
from ..models import FunctionVersion
from ..sandbox.bridge import reachable_host
from ..sandbox.contract import CA_PATH

SESSION_ENV = "KINDLING_ROLE_SESSION_S"  # how long execution-role credentials last (tests shorten it)
SESSION_S = 12 * 3600.0
EXTENSION_PORT_ENV = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"


def sandbox_endpoint(config: Config) -> str:
    """The server's URL from inside a sandbox: loopback when it listens on every address, or when the sandbox
    has no network (the bridge then listens on the sandbox's own loopback, at the same port)."""
    host = reachable_host(config.host) if config.network else "127.0.0.1"
    scheme = "https" if config.tls_cert else "http"  # the forwarder passes bytes through: TLS ends at the server
    return f"{scheme}://[{host}]:{config.port}" if ":" in host else f"{scheme}://{host}:{config.port}"


CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?", re.DOTALL)


def ca_bundle(config: Config) -> str:
    """The certificates of ``--tls-cert`` that sandboxes trust: only them, should the file also hold the key."""
    if not config.tls_cert:
        return ""
    with open(config.tls_cert) as handle:
        return "".join(block if block.endswith("\n") else block + "\n" for block in CERTIFICATE.findall(handle.read()))


class FunctionCredentials:
    """The execution role's credentials for each new environment (static ones without a directory)."""

    def __init__(self, directory: Directory | None = None, session_s: float | None = None) -> None:
        self.directory = directory
        self.session_s = session_s or float(os.environ.get(SESSION_ENV) or SESSION_S)
        self.recycle_s = self.session_s - min(3600.0, self.session_s / 2)
        self.extension_port = 0  # where the Parameters and Secrets extension is served (0: not served)

    def environment(self, version: FunctionVersion) -> dict[str, str]:
        if self.directory is None:
            return {
                "AWS_ACCESS_KEY_ID": "kindling",
                "AWS_SECRET_ACCESS_KEY": "kindling",
                "AWS_SESSION_TOKEN": "kindling",
            }
        session = self.directory.mint(version.role, version.name, self.session_s, version.environment)
        variables = session.environment()
        if self.extension_port and any(":177933569100:layer:" in layer["Arn"] for layer in version.layers):
            variables[EXTENSION_PORT_ENV] = str(self.extension_port)
        return variables


def sdk_environment(config: Config, version: FunctionVersion, credentials: FunctionCredentials) -> dict[str, str]:
    """The endpoint, what to trust on it (boto3 and the AWS CLI read ``AWS_CA_BUNDLE``, Node
    ``NODE_EXTRA_CA_CERTS``), and the role's credentials; a function's own variables win over these."""
    trust = {"AWS_CA_BUNDLE": CA_PATH, "NODE_EXTRA_CA_CERTS": CA_PATH} if config.tls_cert else {}
    return {"AWS_ENDPOINT_URL": sandbox_endpoint(config), **trust, **credentials.environment(version)}
