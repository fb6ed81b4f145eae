"""The AWS SDK for Python as Lambda's python3.x runtimes provide it, loaded ahead of the cold starts that use it.

boto3, botocore and their dependencies live in a runtime-owned directory (``sdk/`` beside this file,
installed by ``make install``), bound read-only at ``/var/runtime`` and last on ``sys.path``: below the
function's code and layers, as on AWS, so a function that bundles its own boto3 gets its own.

``preload`` runs once in each Python zygote. It puts the SDK on ``sys.path``; in the zygote of the functions
that import it (the server's ``runtimes/sdk_use.py`` picks them) it also imports the modules a client needs,
parses the service models of the services functions use most into one shared loader, registers a session's
built-in event handlers once, rehearses a client of each of those services (made-up credentials, nothing
sent) so that the code a function's first clients run has run, and makes boto3's default session, which
reads the environment only when used. It keeps no client: clients hold configuration, credentials,
connection pools and threads that belong to one environment. ``adopt`` runs in each environment before
the handler is loaded: it drops what the function shadows with its own copy and moves the SDK's paths to
where the sandbox shows them. Standard library only until ``preload`` imports the SDK.
"""

from __future__ import annotations

import copy
import os
import sys
import types
from typing import Any

SDK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sdk")
SDK_PACKAGES = frozenset({"boto3", "botocore", "s3transfer"})  # bundling one of these is bundling the SDK
MODULES = (
    "boto3",
    "boto3.s3.inject",
    "boto3.s3.transfer",
    "boto3.dynamodb.conditions",
    "boto3.dynamodb.types",
    "s3transfer.subscribers",
    "botocore.session",
    "botocore.client",
    "botocore.httpsession",
    "botocore.paginate",
    "botocore.waiter",
    "botocore.retries.standard",
    "botocore.retries.adaptive",
)
# parsed ahead; not EC2's and IAM's models, large (14 MB more in the zygote, and so in the cost of each fork)
# and rarely used by functions
SERVICES = (
    "s3",
    "sqs",
    "sns",
    "dynamodb",
    "dynamodbstreams",
    "lambda",
    "kinesis",
    "events",
    "secretsmanager",
    "ssm",
    "sts",
    "logs",
)
DATA = ("endpoints", "partitions", "sdk-default-configuration", "_retry")

_root = ""  # where the SDK was imported from, in the zygote
_family: frozenset[str] = frozenset()  # the top-level modules the SDK directory provides
_loader: Any = None  # one botocore Loader for every session, its models parsed in the zygote


def preload(imported: bool = True) -> None:
    """In the zygote, before any fork: the SDK on ``sys.path`` and, when ``imported``, imported with its common
    models parsed (nothing if not installed)."""
    global _root, _family, _loader
    if not os.path.isdir(os.path.join(SDK_DIR, "botocore")):
        return
    sys.path.append(SDK_DIR)
    if not imported:
        return
    for name in MODULES:
        __import__(name)
    import botocore
    import botocore.client
    import botocore.credentials
    import botocore.endpoint_provider
    import botocore.hooks
    import botocore.loaders
    import botocore.regions
    import botocore.session

    _root = SDK_DIR
    _family = frozenset(name.removesuffix(".py") for name in os.listdir(SDK_DIR) if _importable(name))
    _loader = _shared_loader(botocore.loaders.Loader)
    for name in DATA:
        _loader.load_data(name)
    for service in SERVICES:
        for kind in ("service-2", "endpoint-rule-set-1"):
            _loader.load_service_model(service, kind)
        for operation in _loader.load_service_model(service, "service-2")["operations"]:
            botocore.xform_name(operation)  # a client's method names, from botocore's module-level cache
    _shared_rule_sets(botocore.regions, botocore.endpoint_provider.RuleSet)
    for service in SERVICES:  # their endpoint rules, parsed once
        rules = _loader.load_service_model(service, "endpoint-rule-set-1")
        botocore.regions.EndpointProvider(rules, _loader.load_data("partitions"))
    builtin = botocore.hooks.HierarchicalEmitter()
    botocore.session.Session(event_hooks=builtin)  # registers the built-in handlers in ``builtin``
    _faster_sessions(botocore.session, botocore.loaders.create_loader, builtin)
    _env_first_credentials(botocore.credentials)
    _shared_client_classes(botocore.client.ClientCreator)
    _rehearse()
    import boto3

    boto3.setup_default_session()  # what boto3.client() makes first; it reads the environment only when used


def _rehearse() -> None:
    """A throwaway session and one client of each preloaded service, with made-up credentials and endpoint
    (nothing leaves the process), so that the code a function's first clients run has already run here."""
    import boto3

    saved = dict(os.environ)
    os.environ.update(
        AWS_ACCESS_KEY_ID="AKIDREHEARSAL",
        AWS_SECRET_ACCESS_KEY="rehearsal",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/nonexistent/config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
    )
    try:
        session = boto3.Session()
        session._session.get_credentials()
        for service in SERVICES:
            session.client(service, endpoint_url="http://127.0.0.1:9")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _importable(name: str) -> bool:
    path = os.path.join(SDK_DIR, name)
    return name.endswith(".py") or (os.path.isdir(path) and os.path.exists(os.path.join(path, "__init__.py")))


def _shared_loader(base: type) -> Any:
    """A Loader whose search path stays fixed: boto3 appends its ``data`` folder to the loader of each new
    session, which on one shared loader would grow the path without end, so it is on it from the start."""

    class SharedLoader(base):
        @property
        def search_paths(self) -> list[str]:
            return list(self._search_paths)

    loader = SharedLoader()
    loader._search_paths.append(os.path.join(SDK_DIR, "boto3", "data"))
    return loader


def _faster_sessions(session_module: Any, create_loader: Any, builtin: Any) -> None:
    """New sessions get a copy of the built-in handlers (registering them is most of a session's cost) and
    the shared loader, unless ``AWS_DATA_PATH`` asks for other models."""

    def get_session(env_vars: dict | None = None) -> Any:
        return session_module.Session(env_vars, event_hooks=copy.copy(builtin), include_builtin_handlers=False)

    def shared_loader(search_path_string: str | None = None) -> Any:
        return _loader if not search_path_string else create_loader(search_path_string)

    session_module.get_session = get_session
    session_module.create_loader = shared_loader


def _env_first_credentials(credentials: Any) -> None:
    """A session's default credential chain, built only if the environment's keys do not answer first (they
    do in every Lambda environment): building it is most of a first client's cost (metadata fetchers with
    their HTTP pools, profile providers), and with those keys set and no profile given to the session, the
    chain's first provider is the environment's anyway."""
    build = credentials.create_credential_resolver

    class EnvFirstResolver(credentials.CredentialResolver):
        def __init__(self, chain: Any) -> None:  # the chain's parts are made on first use of ``providers``
            self._build = chain
            self._providers: list | None = None

        @property
        def providers(self) -> list:
            if self._providers is None:
                self._providers = self._build().providers
            return self._providers

        @providers.setter
        def providers(self, value: list) -> None:
            self._providers = value

        def load_credentials(self) -> Any:
            found = credentials.EnvProvider().load() if self._providers is None else None
            return found or super().load_credentials()

    def create(session: Any, cache: Any = None, region_name: str | None = None) -> Any:
        if session.instance_variables().get("profile") is not None:  # the chain then leaves the keys out
            return build(session, cache, region_name)
        return EnvFirstResolver(lambda: build(session, cache, region_name))

    credentials.create_credential_resolver = create


def _shared_client_classes(creator: type) -> None:
    """A client's class (a method per operation, then what the ``creating-client-class`` handlers add) is
    made once per service and set of handlers, here in the zygote for the preloaded services, instead of
    for every client: the same class, since those handlers only ever add to it."""
    build = creator._create_client_class  # type: ignore[attr-defined]
    classes: dict[tuple, tuple[object, type]] = {}  # the model is kept with its class: its id stays its own

    def create_client_class(self: Any, service_name: str, service_model: Any) -> type:
        key = _class_key(self._event_emitter, service_name, service_model)
        if key is None:  # a handler we cannot tell apart from another: as botocore does
            return build(self, service_name, service_model)
        if key not in classes:
            classes[key] = (service_model._service_description, build(self, service_name, service_model))
        return classes[key][1]

    creator._create_client_class = create_client_class  # type: ignore[attr-defined]


def _class_key(emitter: Any, service_name: str, service_model: Any) -> tuple | None:
    """The service's model and the handlers its class creation would call, each as its code and what its
    closure holds (boto3 registers fresh closures per session, which do the same thing), or None."""
    try:
        event = emitter._alias_event_name(f"creating-client-class.{service_model.service_id.hyphenize()}")
        handlers = emitter._emitter._handlers.prefix_search(event)
    except AttributeError:  # not botocore's own emitter
        return None
    parts: list[object] = []
    for handler in handlers:
        if not isinstance(handler, types.FunctionType):
            return None
        cells = tuple(cell.cell_contents for cell in handler.__closure__ or ())
        if not all(isinstance(cell, (str, int, bool, type(None), dict)) for cell in cells):
            return None
        parts.append((handler.__code__, repr(cells)) if cells else handler)
    return service_name, id(service_model._service_description), tuple(parts)


def _shared_rule_sets(regions: Any, rule_set: type) -> None:
    """Each client parses its service's endpoint rules into a RuleSet, which it only ever reads: clients of
    the same service share one (the shared loader hands them the same rules), parsed in the zygote."""
    parsed: dict[tuple[int, int], tuple[object, object, Any]] = {}  # ids -> (rules, partitions, RuleSet)

    class SharedRuleSetProvider(regions.EndpointProvider):
        def __init__(self, ruleset_data: dict, partition_data: dict, excluded_params: Any = None) -> None:
            key = (id(ruleset_data), id(partition_data))
            if key not in parsed:  # the data are kept with it, so that their ids stay theirs
                parsed[key] = (ruleset_data, partition_data, rule_set(**ruleset_data, partitions=partition_data))
            self.ruleset = parsed[key][2]
            self._excluded_params = excluded_params or frozenset()

    regions.EndpointProvider = SharedRuleSetProvider


def adopt(function_paths: list[str]) -> None:
    """In an environment, before the handler's import: the SDK modules the function's code or layers bring
    their own copy of are forgotten (all of them when it brings boto3, botocore or s3transfer), and the SDK's
    own paths follow it to where the sandbox binds it (``/var/runtime``)."""
    global _root, _loader
    if not _family or "botocore" not in sys.modules:
        return
    shadowed = {name.removesuffix(".py") for path in function_paths for name in _listdir(path)} & _family
    if shadowed & SDK_PACKAGES:
        shadowed = set(_family)
        _loader = None
    if shadowed:
        for name in [m for m in sys.modules if m.partition(".")[0] in shadowed]:
            del sys.modules[name]
    if _loader is None:
        return
    if os.environ.get("AWS_DATA_PATH"):  # the zygote's default session has the shared loader, not those paths
        sys.modules["boto3"].DEFAULT_SESSION = None  # type: ignore[attr-defined]
    root = os.path.dirname(os.path.dirname(sys.modules["botocore"].__file__ or ""))
    if root != _root:
        _relocate(_root, root)
        _root = root


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _relocate(old: str, new: str) -> None:
    """The paths botocore computed from its own location at import, and those the shared loader holds."""
    import botocore
    import botocore.httpsession
    import botocore.loaders

    def moved(path: str) -> str:
        return new + path[len(old) :] if path.startswith(old + "/") or path == old else path

    botocore.BOTOCORE_ROOT = moved(botocore.BOTOCORE_ROOT)
    botocore.loaders.Loader.BUILTIN_DATA_PATH = moved(botocore.loaders.Loader.BUILTIN_DATA_PATH)
    botocore.httpsession.DEFAULT_CA_BUNDLE = moved(botocore.httpsession.DEFAULT_CA_BUNDLE)
    _loader._search_paths[:] = [moved(path) for path in _loader._search_paths]
    for key, value in _loader._cache.items():  # load_data_with_path: (model, the file it came from)
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str):
            _loader._cache[key] = (value[0], moved(value[1]))
