"""Operation handlers, one module per group of operations; ``handlers()`` collects them."""

from __future__ import annotations

from ...events.queue import EventQueue
from ...functions.policy import PolicyService
from ...functions.service import FunctionService
from ...functions.urls import UrlService
from ...invoke.invoker import Invoker
from ..app import Handler
from . import event_config, functions, invoke, layers, policy, urls, versions


def handlers(
    service: FunctionService, invoker: Invoker, events: EventQueue, url_configs: UrlService, policies: PolicyService
) -> dict[str, Handler]:
    return {
        **functions.handlers(service, invoker),
        **invoke.handlers(service, invoker, events),
        **versions.handlers(service),
        **event_config.handlers(service, events),
        **urls.handlers(url_configs),
        **policy.handlers(policies),
        **layers.handlers(service.layers, service.config.endpoint),
    }
