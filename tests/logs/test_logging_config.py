"""Advanced logging controls: ``LoggingConfig`` with the JSON format and its two levels, as AWS applies them."""

from __future__ import annotations

import base64
import json

import pytest

HANDLER = """\
import logging, os
log = logging.getLogger("orders")

def handler(event, context):
    logging.debug("debug detail")
    logging.info("info line")
    log.warning("low stock", extra={"sku": "A-1"})
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("could not divide")
    print("plain print")
    if event.get("fail"):
        raise ValueError("bad order")
    return [os.environ.get("AWS_LAMBDA_LOG_FORMAT"), os.environ.get("AWS_LAMBDA_LOG_LEVEL")]
"""


def invoke(lam, name: str, event: dict | None = None) -> tuple[object, list[str]]:  # type: ignore[no-untyped-def]
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}), LogType="Tail")
    return json.load(reply["Payload"]), base64.b64decode(reply["LogResult"]).decode().splitlines()


def records(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines if line.startswith("{")]


def configure(lam, name: str, **logging_config: str) -> dict:  # type: ignore[no-untyped-def]
    lam.update_function_configuration(FunctionName=name, LoggingConfig=logging_config)
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    return lam.get_function_configuration(FunctionName=name)["LoggingConfig"]


def test_json_format_levels_and_platform_records(lam, deploy):
    config = {"LogFormat": "JSON", "ApplicationLogLevel": "WARN", "SystemLogLevel": "INFO"}
    name = deploy({"app.py": HANDLER}, LoggingConfig=config)
    assert lam.get_function_configuration(FunctionName=name)["LoggingConfig"] == {
        **config,
        "LogGroup": f"/aws/lambda/{name}",
    }
    result, lines = invoke(lam, name)
    assert result == ["JSON", "WARN"]
    assert "plain print" in lines  # print() stays plain text
    found = records(lines)
    start, *application, done, report = found
    request_id = start["record"]["requestId"]
    assert start["type"] == "platform.start" and start["record"]["version"] == "$LATEST"
    warning, error = application  # DEBUG and INFO are below ApplicationLogLevel
    assert {k: warning[k] for k in ("level", "message", "logger", "requestId", "sku")} == {
        "level": "WARN", "message": "low stock", "logger": "orders", "requestId": request_id, "sku": "A-1"
    }  # fmt: skip
    assert warning["timestamp"].endswith("Z")
    assert error["level"] == "ERROR" and error["errorType"] == "ZeroDivisionError"
    assert error["errorMessage"] == "division by zero" and "1 / 0" in "".join(error["stackTrace"])
    assert done["type"] == "platform.runtimeDone" and done["record"]["status"] == "success"
    assert report["type"] == "platform.report" and report["record"]["status"] == "success"
    metrics = report["record"]["metrics"]
    assert set(metrics) == {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs"}
    assert metrics["memorySizeMB"] == 128
    assert not any(line.startswith(("START", "END", "REPORT")) for line in lines)

    failed, lines = invoke(lam, name, {"fail": True})
    assert failed["errorType"] == "ValueError"
    error = next(r for r in records(lines) if r.get("errorType") == "ValueError")
    assert error["level"] == "ERROR" and error["errorMessage"] == "bad order" and error["requestId"]
    assert records(lines)[-1]["record"]["status"] == "error"

    # SystemLogLevel WARN drops the INFO platform records; ApplicationLogLevel DEBUG lets everything through
    assert configure(lam, name, SystemLogLevel="WARN", ApplicationLogLevel="DEBUG")["SystemLogLevel"] == "WARN"
    result, lines = invoke(lam, name)
    assert result == ["JSON", "DEBUG"]
    assert [r["level"] for r in records(lines)] == ["DEBUG", "INFO", "WARN", "ERROR"]


def test_back_to_text_drops_the_levels(lam, deploy, server):
    name = deploy({"app.py": HANDLER}, LoggingConfig={"LogFormat": "JSON"})
    assert lam.get_function_configuration(FunctionName=name)["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    logs = server.client("logs")
    invoke(lam, name)
    found = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern='{ $.level = "WARN" }')
    assert [json.loads(e["message"])["message"] for e in found["events"]] == ["low stock"]

    assert configure(lam, name, LogFormat="Text") == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}
    result, lines = invoke(lam, name)
    assert result == [None, None]
    assert lines[0].startswith("START RequestId: ") and lines[-1].startswith("REPORT RequestId: ")
    assert any(line.startswith("[WARNING]\t") and line.endswith("\tlow stock") for line in lines)
    with pytest.raises(
        lam.exceptions.InvalidParameterValueException, match="LogLevel is not supported when LogFormat is set to"
    ):
        lam.update_function_configuration(FunctionName=name, LoggingConfig={"ApplicationLogLevel": "DEBUG"})
