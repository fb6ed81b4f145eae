"""Operation handlers, one module per group of operations; ``handlers()`` collects them."""

from __future__ import annotations

from ...events.queue import EventQueue
from ...functions.service import FunctionService
from ...invoke.invoker import Invoker
from ..app import Handler
from . import functions, invoke, versions


def handlers(service: FunctionService, invoker: Invoker, events: EventQueue) -> dict[str, Handler]:
    return {
        **functions.handlers(service, invoker),
        **invoke.handlers(service, invoker, events),
        **versions.handlers(service),
    }
