"""What a function's code calls AWS with: Kindling's endpoint as the sandbox reaches it, and credentials.

Every environment gets ``AWS_ENDPOINT_URL``, so unmodified SDK calls (boto3, the AWS SDK for JavaScript v3,
the AWS CLI) land on this server, and the credentials Lambda puts in a function's environment.
"""

from __future__ import annotations

from ..config import Config
from ..models import FunctionVersion
from ..sandbox.bridge import reachable_host


def sandbox_endpoint(config: Config) -> str:
    """The server's URL from inside a sandbox: loopback when it listens on every address, or when the sandbox
    has no network (the bridge then listens on the sandbox's own loopback, at the same port)."""
    host = reachable_host(config.host) if config.network else "127.0.0.1"
    return f"http://[{host}]:{config.port}" if ":" in host else f"http://{host}:{config.port}"


def function_credentials(version: FunctionVersion) -> dict[str, str]:
    """The execution role's credentials as Lambda hands them to a function. Static for now: one place to
    make them the role's temporary credentials (the security work does)."""
    del version  # the role's credentials will depend on it
    return {
        "AWS_ACCESS_KEY_ID": "kindling",
        "AWS_SECRET_ACCESS_KEY": "kindling",
        "AWS_SESSION_TOKEN": "kindling",
    }


def sdk_environment(config: Config, version: FunctionVersion) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": sandbox_endpoint(config), **function_credentials(version)}
