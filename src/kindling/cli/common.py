"""What every client verb shares: the endpoint, boto3 clients, the console, and readable errors.

A failure is one line saying what went wrong and one saying what to do, never a traceback
(unless ``--debug``): the CLI is for people, and botocore's messages are for programs.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

DEFAULT_ENDPOINT = "http://127.0.0.1:9000"
ROLE = "arn:aws:iam::000000000000:role/kindling"
# stdout carries results (pipe them into jq); stderr carries progress, logs and errors. Piped output is
# never cut to 80 columns: a table is as wide as its content.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 1000)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 1000)
F = TypeVar("F", bound=Callable[..., Any])


class CliError(click.ClickException):
    """A failure the user can act on: what happened, and a hint for what to do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    def show(self, file: Any = None) -> None:
        err.print(f"[bold red]error:[/] {self.message}", markup=True, highlight=False)
        if self.hint:
            err.print(f"[dim]hint:[/] {self.hint}", markup=True, highlight=False)


class Clients:
    """Lazily built boto3 clients for one endpoint (importing boto3 costs time ``server`` does not need)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._made: dict[str, Any] = {}

    @property
    def lam(self) -> Any:
        return self._client("lambda")

    @property
    def logs(self) -> Any:
        return self._client("logs")

    @property
    def trail(self) -> Any:
        return self._client("cloudtrail")

    @property
    def region(self) -> str:
        return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"

    @functools.cached_property
    def credentials(self) -> Any:
        """The standard AWS credential chain (environment, ``AWS_PROFILE``, shared files…); a server in
        ``--auth open`` mode takes any key, so without one a placeholder is used."""
        import boto3
        from botocore.credentials import Credentials

        found = boto3.session.Session().get_credentials()
        return found.get_frozen_credentials() if found else Credentials("kindling", "kindling")

    @property
    def cloudwatch(self) -> Any:
        return self._client("cloudwatch")

    def aws(self, service: str) -> Any:
        """A client of one of the AWS services on the port (s3, sqs, sns, events, ...)."""
        return self._client(service)

    def _client(self, service: str) -> Any:
        if service not in self._made:
            import boto3
            from botocore.config import Config

            self._made[service] = boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name=self.region,
                aws_access_key_id=self.credentials.access_key,
                aws_secret_access_key=self.credentials.secret_key,
                aws_session_token=self.credentials.token,
                config=Config(retries={"max_attempts": 1}, read_timeout=960, connect_timeout=3),
            )
        return self._made[service]

    def signed_headers(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        """SigV4 headers for a call to Kindling's own endpoints, signed as the Lambda API's are."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=data or b"", headers=headers)
        SigV4Auth(self.credentials, "lambda", self.region).add_auth(request)
        return dict(request.headers.items())


class _CountingBody(io.BytesIO):
    """A request body that reports how much of it the HTTP client has read (sent) so far."""

    def __init__(self, data: bytes, advance: Callable[[int], None]) -> None:
        super().__init__(data)
        self._advance = advance

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self._advance(len(chunk))
        return chunk


@contextlib.contextmanager
def upload_progress(client: Any, operation: str, label: str) -> Iterator[None]:
    """A progress bar over the bytes of ``operation``'s request as they are sent; a terminal only."""
    if not err.is_terminal:
        yield
        return
    columns = (TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def follow(request: Any, **_: Any) -> None:
            if isinstance(request.body, bytes):
                progress.update(task, total=len(request.body), completed=0)
                request.body = _CountingBody(request.body, lambda sent: progress.advance(task, sent))

        event = f"before-send.{client.meta.service_model.endpoint_prefix}.{operation}"
        client.meta.events.register(event, follow)
        try:
            yield
        finally:
            client.meta.events.unregister(event, follow)


def kindling_request(clients: Clients, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One call to Kindling's own JSON API (``/kindling/...``); its errors become a CliError with the
    server's message."""
    url = f"{clients.endpoint}{path}"
    data = None if body is None else json.dumps(body).encode()
    headers = clients.signed_headers(method, url, data, {"Content-Type": "application/json"})
    call = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=30) as reply:
            raw = reply.read()
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}")
        raise CliError(detail.get("message") or detail.get("Message") or str(error)) from None
    return json.loads(raw) if raw else None


def explain(error: Exception, endpoint: str) -> CliError | None:
    """botocore's exceptions as a sentence and a hint; None for anything unexpected."""
    from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

    if isinstance(error, EndpointConnectionError):
        return CliError(
            f"cannot reach Kindling at {endpoint}",
            "start it with `make run` (or `kindling server`), or point --endpoint / KINDLING_ENDPOINT at it",
        )
    if isinstance(error, ReadTimeoutError):
        return CliError(f"Kindling at {endpoint} did not answer in time", "is the server overloaded or stuck?")
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Error")
        message = error.response.get("Error", {}).get("Message", str(error))
        if code == "ResourceNotFoundException" and "Function not found" in message:
            name = message.rsplit(":", 1)[-1].strip()
            return CliError(
                f"no function named {name!r}", "`kindling ls` lists functions; `kindling deploy DIR` makes one"
            )
        return CliError(f"{code}: {message}")
    return None


def client_command(function: F) -> F:
    """Adds ``--endpoint`` and ``--debug`` to a verb and turns its failures into one readable line."""

    @click.option(
        "--endpoint",
        envvar="KINDLING_ENDPOINT",
        default=DEFAULT_ENDPOINT,
        show_default=True,
        help="Kindling server URL (env KINDLING_ENDPOINT)",
    )
    @click.option("--debug", is_flag=True, help="show the full traceback on failure")
    @functools.wraps(function)
    def wrapper(*args: Any, endpoint: str, debug: bool, **kwargs: Any) -> Any:
        try:
            return function(*args, clients=Clients(endpoint), **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise SystemExit(130) from None
        except Exception as error:
            if debug:
                raise
            readable = explain(error, endpoint)
            if readable is None:
                readable = CliError(f"{type(error).__name__}: {error}", "run again with --debug for the traceback")
            raise readable from None

    return wrapper  # type: ignore[return-value]
