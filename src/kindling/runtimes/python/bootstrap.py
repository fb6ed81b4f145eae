"""The Python runtime: loads the handler and serves invocations inside the sandbox.

Preloaded in the runtime's zygote (so its imports are paid once) and entered through
``main(fd)`` in each new execution environment. It talks to the server over a private
stream socket on ``fd`` instead of the HTTP Runtime API: same events, same context, same
error shapes as awslambdaric, one round trip less. Standard library only.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import os
import random
import resource
import sys
import threading
import time
import traceback
from collections.abc import Iterator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_sdk
import channel
import immortal
import snapshot_restore_py  # noqa: F401  (stays imported: handlers import it by this name, as on Lambda)
from context import LambdaContext

# the helpers stay reachable through these names; user modules called channel or context must win
del sys.modules["aws_sdk"], sys.modules["channel"], sys.modules["context"], sys.modules["immortal"], sys.path[0]

JSON_LOGS = False
LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _LineHandler(logging.StreamHandler):
    """One log record is one log event: newlines inside a record become carriage returns."""

    terminator = ""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text[:-1].replace("\n", "\r") + "\n"


# LogFormat JSON (AWS_LAMBDA_LOG_FORMAT): Lambda's level names, and the LogRecord attributes that are not extra= keys
_LEVEL_NAMES = {"WARNING": "WARN", "CRITICAL": "FATAL"}
_RECORD_FIELDS = {*vars(logging.LogRecord("", 0, "", 0, "", None, None)), "message", "asctime", "aws_request_id"}


class _JsonFormatter(logging.Formatter):
    """A record as AWS's JSON log line: timestamp, level, message, logger, requestId, ``extra=`` keys, and
    errorType / errorMessage / stackTrace / location for an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": _LEVEL_NAMES.get(record.levelname, record.levelname),
            "message": record.getMessage(),
            "logger": record.name,
        }
        if record.aws_request_id:  # type: ignore[attr-defined]
            entry["requestId"] = record.aws_request_id  # type: ignore[attr-defined]
        if record.exc_info and record.exc_info[0] is not None:
            kind, value, tb = record.exc_info
            entry.update(errorType=kind.__name__, errorMessage=str(value), stackTrace=traceback.format_tb(tb),
                         location=f"{record.pathname}:{record.funcName}:{record.lineno}")  # fmt: skip
        entry.update((k, v) for k, v in vars(record).items() if k not in _RECORD_FIELDS and k not in entry)
        return json.dumps(entry, default=str, ensure_ascii=False) + "\n"


def make_error(message: str, error_type: str, request_id: str, stack: list[str] | None = None) -> dict:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack or [],
    }


def _user_frames(tb: object) -> list[str]:
    frames = traceback.extract_tb(tb)  # type: ignore[arg-type]
    here = os.path.dirname(os.path.abspath(__file__))
    return traceback.format_list([f for f in frames if not f.filename.startswith(here)])


class FaultError(Exception):
    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.stack = stack or []


def load_handler(handler: str) -> object:
    """Resolve ``module.function`` the way awslambdaric does, with its error types."""
    module_name, _, function_name = handler.rpartition(".")
    if not module_name or not function_name:
        raise FaultError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': not enough values to unpack")
    module_name = module_name.replace("/", ".")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise FaultError(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise FaultError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}") from error
    except SyntaxError as error:
        stack = _user_frames(error.__traceback__)
        raise FaultError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}", stack
        ) from error
    except Exception as error:
        raise FaultError(type(error).__name__, str(error), _user_frames(error.__traceback__)) from error
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultError(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None


def _setup_paths() -> None:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    wanted = [task_root, f"/opt/python/lib/{version}/site-packages", "/opt/python"]
    sys.path[:0] = [p for p in wanted if p not in sys.path]
    aws_sdk.adopt(wanted)
    extra = os.environ.get("KINDLING_SITE_PACKAGES")
    if extra:
        sys.path.append(extra)


def _setup_logging(request_filter: _RequestIdFilter) -> None:
    global JSON_LOGS  # per environment: this module is loaded once, in the zygote
    JSON_LOGS = os.environ.get("AWS_LAMBDA_LOG_FORMAT") == "JSON"
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = _LineHandler(sys.stdout)
    if JSON_LOGS:
        handler.setFormatter(_JsonFormatter())
    else:
        formatter = logging.Formatter(LOG_FORMAT, "%Y-%m-%dT%H:%M:%S")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    handler.addFilter(request_filter)
    root.addHandler(handler)
    root.setLevel(
        logging.INFO
        if os.environ.get("AWS_LAMBDA_LOG_LEVEL") is None
        else os.environ["AWS_LAMBDA_LOG_LEVEL"].replace("WARN", "WARNING").replace("TRACE", "DEBUG")
    )


def _log_fault(fault: FaultError, request_id: str = "") -> None:
    if JSON_LOGS:
        entry = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": "ERROR",
                 "message": str(fault), "errorType": fault.error_type, "errorMessage": str(fault),
                 "stackTrace": fault.stack, **({"requestId": request_id} if request_id else {})}  # fmt: skip
        print(json.dumps(entry, ensure_ascii=False), file=sys.stderr, flush=True)
        return
    print(f"[ERROR] {fault.error_type}: {fault}", file=sys.stderr)
    if fault.stack:
        print("Traceback (most recent call last):\n" + "".join(fault.stack).rstrip("\n"), file=sys.stderr)
    sys.stderr.flush()


def _max_memory_kb() -> int:
    """The runtime's own high-water mark; the server adds the cgroup's, which counts child processes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _stream(conn: channel.Channel, request_id: str, pieces: Iterator) -> None:
    """A handler that returns an iterator streams: a dict first is the HTTP prelude (statusCode,
    headers, cookies), then each str or bytes is sent the moment it is produced."""
    for index, piece in enumerate(pieces):
        if index == 0 and isinstance(piece, dict):
            conn.send({"type": "chunk", "request_id": request_id, "prelude": True}, json.dumps(piece).encode())
            continue
        if isinstance(piece, str):
            piece = piece.encode()
        elif not isinstance(piece, (bytes, bytearray)):
            piece = json.dumps(piece).encode()
        conn.send({"type": "chunk", "request_id": request_id}, bytes(piece))


RESULT_HEADER = b'{"type": "result", "request_id": "%s", "max_rss_kb": %d}'


def _marshal(result: object) -> bytes:
    try:
        return json.dumps(result).encode()
    except (TypeError, ValueError) as error:
        raise FaultError("Runtime.MarshalError", f"Unable to marshal response: {error}") from error


def preload() -> None:
    """Imports whatever every invocation needs, in the zygote, before any fork."""
    import decimal  # noqa: F401  (json.loads(parse_float=...) users expect it cheap)

    # boto3, as Lambda provides it: on sys.path in every zygote; imported and its common models parsed once,
    # here, in the zygote of the functions that import it (the server's runtimes/sdk_use.py picks them)
    aws_sdk.preload(imported=os.environ.pop("KINDLING_PRELOAD_SDK", "") == "1")
    gc.collect()
    immortal.immortalize()  # an environment that reads the zygote's objects no longer copies their pages
    gc.freeze()  # nor does its collector, which never walks them


def _initialise(conn: channel.Channel, started: float) -> tuple[_RequestIdFilter, object] | None:
    """What a runtime process does before its first event: its output, logging, ``sys.path``, the
    handler. None once an init error has been reported."""
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    request_filter = _RequestIdFilter()
    _setup_logging(request_filter)
    _setup_paths()
    try:
        return request_filter, load_handler(os.environ["_HANDLER"])
    except FaultError as fault:
        _init_failed(conn, fault, started)
        return None


def _init_failed(conn: channel.Channel, fault: FaultError, started: float) -> None:
    _log_fault(fault)
    init_ms = (time.perf_counter() - started) * 1000
    conn.send(
        {"type": "init_error", "init_ms": init_ms},
        json.dumps(make_error(str(fault), fault.error_type, "", fault.stack)).encode(),
    )


def main(fd: int) -> None:
    started = time.perf_counter()
    conn = channel.Channel(fd)
    initialised = _initialise(conn, started)
    if initialised is None:
        return
    request_filter, handler = initialised
    conn.send({"type": "ready", "init_ms": (time.perf_counter() - started) * 1000})
    while True:
        message = conn.receive()
        if message is None:
            return
        header, body = message
        request_id = header["request_id"]
        request_filter.request_id = request_id
        os.environ["_X_AMZN_TRACE_ID"] = header["trace_id"]  # one hop further along its Lineage (the server's)
        context = LambdaContext(header)
        try:
            event = json.loads(body) if body else {}
            result = handler(event, context)  # type: ignore[operator]
            if header.get("stream") and isinstance(result, Iterator):
                _stream(conn, request_id, result)
                payload = b""
            else:
                payload = _marshal(result)
        except FaultError as fault:
            _log_fault(fault, request_id)
            _finish(conn, request_id, "Unhandled", make_error(str(fault), fault.error_type, request_id))
            continue
        except Exception as error:
            stack = _user_frames(error.__traceback__)
            _log_fault(FaultError(type(error).__name__, str(error), stack), request_id)
            _finish(conn, request_id, "Unhandled", make_error(str(error), type(error).__name__, request_id, stack))
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        result = RESULT_HEADER % (request_id.encode(), _max_memory_kb())  # ids are the server's UUIDs
        conn.send_encoded(result, payload)


def _finish(conn: channel.Channel, request_id: str, function_error: str, error: dict) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    conn.send(
        {
            "type": "error",
            "request_id": request_id,
            "function_error": function_error,
            "max_rss_kb": _max_memory_kb(),
        },
        json.dumps(error).encode(),
    )


# ---------------------------------------------------------------- SnapStart
def _run_hooks(getter: str, error_type: str, *, last_first: bool) -> None:
    """The hooks registered through whichever ``snapshot_restore_py`` the handler imported."""
    module = sys.modules.get("snapshot_restore_py")
    hooks = list(getattr(module, getter)()) if module is not None else []
    for func, args, kwargs in reversed(hooks) if last_first else hooks:
        try:
            func(*args, **kwargs)
        except Exception as error:
            raise FaultError(error_type, str(error), _user_frames(error.__traceback__)) from error


def snapshot(fd: int) -> bool:
    """In a SnapStart template: init once, then the before-snapshot hooks (last registered first).
    Reports ``snapshot_ready`` (or the init error) on the channel; True when the snapshot may be taken."""
    started = time.perf_counter()
    conn = channel.Channel(fd)
    if _initialise(conn, started) is None:
        return False
    try:
        _run_hooks("get_before_snapshot", "Runtime.BeforeSnapshotError", last_first=True)
    except FaultError as fault:
        _init_failed(conn, fault, started)
        return False
    _warn_of_threads()
    sys.stdout.flush()
    sys.stderr.flush()
    conn.send({"type": "snapshot_ready", "init_ms": (time.perf_counter() - started) * 1000})
    return True


def _warn_of_threads() -> None:
    """A fork keeps only the calling thread: say which of init's threads restored environments will lack
    (on AWS a microVM snapshot keeps them), so a silent loss becomes a line in the function's log."""
    lost = [thread.name for thread in threading.enumerate() if thread is not threading.main_thread()]
    if lost:
        print(
            f"[WARNING] SnapStart: {len(lost)} thread(s) started during init will not run in restored "
            f"environments: {', '.join(lost)}. Start them in a register_after_restore hook.",
            file=sys.stderr,
        )


def restore(fd: int) -> None:
    """In an environment forked from the template: new random state, the after-restore hooks (in
    registration order), then the runtime as usual; the handler's module is already imported."""
    random.seed()  # from os.urandom: no two restored environments share a sequence
    try:
        _run_hooks("get_after_restore", "Runtime.AfterRestoreError", last_first=False)
    except FaultError as fault:
        _init_failed(channel.Channel(fd), fault, time.perf_counter())
        return
    main(fd)
