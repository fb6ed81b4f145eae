"""The one way the front ends (the Lambda API, function URLs, route tables, the async queue, pollers) run a
function, so none of them reaches past the control plane into the invoker."""

from __future__ import annotations

from pathlib import Path

from ..invoke.invoker import Invoker
from ..invoke.streaming import StreamedInvocation
from ..models import FunctionVersion, InvokeRequest
from .service import FunctionService


class Invocations:
    def __init__(self, functions: FunctionService, invoker: Invoker) -> None:
        self.functions = functions
        self._invoker = invoker
        # the hot path: the invoker's own bound method, so a warm invoke pays no extra call
        self.invoke = invoker.invoke
        self.reserved_concurrency = invoker.reserved_concurrency

    def target(self, name_or_arn: str, qualifier: str | None) -> tuple[FunctionVersion, Path, str]:
        """What one invocation runs: the record, its code, and the ARN the caller invoked."""
        return self.functions.invoke_target(name_or_arn, qualifier)

    def stream(self, record: FunctionVersion, code_dir: Path, request: InvokeRequest) -> StreamedInvocation:
        """An invocation whose response is read as the function produces it."""
        return StreamedInvocation(self._invoker, record, code_dir, request)

    @property
    def unreserved_concurrency(self) -> int:
        return self._invoker.limits.unreserved_pool
