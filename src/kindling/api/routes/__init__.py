"""Operation handlers, one module per group of operations; ``handlers()`` collects them."""

from __future__ import annotations

from ...events.queue import EventQueue
from ...functions.event_sources import EventSources
from ...functions.invocations import Invocations
from ...functions.policy import PolicyService
from ...functions.provisioned import ProvisionedConcurrency
from ...functions.service import FunctionService
from ...functions.settings import FunctionSettings
from ...functions.signing import CodeSigning
from ...functions.urls import UrlService
from ..app import Handler
from . import event_config, event_sources, functions, invoke, layers, policy, settings, signing, urls, versions


def handlers(
    service: FunctionService,
    invocations: Invocations,
    provisioned: ProvisionedConcurrency,
    events: EventQueue,
    url_configs: UrlService,
    policies: PolicyService,
    function_settings: FunctionSettings,
    code_signing: CodeSigning,
    mappings: EventSources,
) -> dict[str, Handler]:
    tagging = policy.handlers(policies)
    return {
        **functions.handlers(service, invocations),
        **invoke.handlers(service, invocations, events),
        **versions.handlers(service, provisioned),
        **event_config.handlers(service, events),
        **urls.handlers(url_configs),
        **tagging,
        **event_sources.handlers(mappings, tagging),
        **layers.handlers(service.layers, service.config.endpoint),
        **settings.handlers(function_settings),
        **signing.handlers(code_signing),
    }
