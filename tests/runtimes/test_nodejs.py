"""The built-in Node.js runtime: CommonJS and ES module handlers, async and callback styles, the
context object, console lines and errors in Lambda's Node shapes."""

from __future__ import annotations

import re

import pytest

from runtime_helpers import CLIENT_CONTEXT, invoke
from support import ROLE, make_zip

CONTEXT_HANDLER = """
exports.handler = async (event, context) => {
  console.log("got", { n: event.n }, "\\nsecond line");
  console.warn("careful");
  return {
    event,
    functionName: context.functionName,
    awsRequestId: context.awsRequestId,
    arn: context.invokedFunctionArn,
    memory: context.memoryLimitInMB,
    version: context.functionVersion,
    remainingOk: context.getRemainingTimeInMillis() > 0 && context.getRemainingTimeInMillis() <= 3000,
    waits: context.callbackWaitsForEmptyEventLoop,
    custom: context.clientContext && context.clientContext.custom,
    cwd: process.cwd(),
    execEnv: process.env.AWS_EXECUTION_ENV,
    nodePath: process.env.NODE_PATH,
    api: process.env.AWS_LAMBDA_RUNTIME_API,
  };
};
"""


@pytest.fixture(scope="module")
def node(server):  # type: ignore[no-untyped-def]
    if "nodejs20.x" not in server.health()["runtimes"]:
        pytest.skip("no node 20 on this machine")
    return "nodejs20.x"


def test_commonjs_async_handler_gets_event_and_context(lam, deploy, node):
    name = deploy({"index.js": CONTEXT_HANDLER}, handler="index.handler", runtime=node)
    body, error, log = invoke(lam, name, {"n": 7}, ClientContext=CLIENT_CONTEXT)
    assert error is None, body
    assert body["event"] == {"n": 7} and body["functionName"] == name and body["arn"].endswith(f":function:{name}")
    assert body["memory"] == "128" and body["version"] == "$LATEST" and body["remainingOk"] and body["waits"] is True
    assert body["custom"] == {"k": "v"} and body["cwd"] == "/var/task" and body["execEnv"] == "AWS_Lambda_nodejs20.x"
    assert body["nodePath"].startswith("/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:")
    request_id = body["awsRequestId"]
    # Lambda's Node format: ISO time, request id, level, message; newlines inside a message become \r
    assert re.search(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{request_id}\tINFO\tgot {{ n: 7 }} \rsecond line\n", log
    )
    assert f"\t{request_id}\tWARN\tcareful" in log
    assert f"START RequestId: {request_id}" in log and f"REPORT RequestId: {request_id}" in log


@pytest.mark.parametrize(
    ("files", "handler"),
    [
        ({"index.mjs": "export const handler = async (event) => ({ style: 'mjs', event });"}, "index.handler"),
        (
            {
                "package.json": '{"type": "module"}',
                "src/app.js": "export async function run(event) { return { style: 'esm-js', event }; }",
            },
            "src/app.run",
        ),
        ({"lib.cjs": "module.exports.go = async (event) => ({ style: 'cjs', event });"}, "lib.go"),
        (
            {
                "index.js": "exports.handler = (event, context, callback) => { setTimeout(() => callback(null, { style: 'callback', event }), 10); };"
            },
            "index.handler",
        ),
    ],
    ids=["mjs", "esm-js", "cjs", "callback"],
)
def test_module_kinds_and_handler_styles(lam, deploy, node, files, handler, request):
    style = request.node.callspec.id
    name = deploy(files, handler=handler, runtime=node)
    body, error, _ = invoke(lam, name, {"k": 1})
    assert error is None, body
    assert body == {"style": style, "event": {"k": 1}}


def test_callback_waits_for_the_event_loop_unless_told_not_to(lam, deploy, node):
    source = """
let ticks = 0;
exports.handler = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = event.wait;
  setTimeout(() => { ticks += 1; }, 300);
  callback(null, { ticksSeen: ticks });
};
"""
    name = deploy({"index.js": source}, handler="index.handler", runtime=node)
    fast = lam.invoke(FunctionName=name, Payload=b'{"wait": false}')
    assert fast["ResponseMetadata"]["HTTPStatusCode"] == 200
    _, error, log = invoke(lam, name, {"wait": True})
    assert error is None
    duration = float(re.search(r"\tDuration: ([\d.]+) ms", log).group(1))
    assert duration >= 290  # the response waited for the pending timer


def test_errors_have_lambdas_node_shape(lam, deploy, node):
    source = """
exports.handler = async (event) => {
  if (event.kind === "throw") { const e = new TypeError("bad input"); throw e; }
  if (event.kind === "string") throw "plain string";
  if (event.kind === "crash") { setTimeout(() => { throw new Error("async crash"); }, 0); return new Promise(() => {}); }
  return "fine";
};
"""
    name = deploy({"index.js": source}, handler="index.handler", runtime=node)
    body, error, log = invoke(lam, name, {"kind": "throw"})
    assert error == "Unhandled"
    assert body["errorType"] == "TypeError" and body["errorMessage"] == "bad input"
    assert body["trace"][0] == "TypeError: bad input" and "/var/task/index.js" in body["trace"][1]
    assert "\tERROR\tInvoke Error \t{" in log
    body, error, _ = invoke(lam, name, {"kind": "string"})
    assert body == {"errorType": "string", "errorMessage": "plain string", "trace": []}
    body, error, _ = invoke(lam, name, {"kind": "crash"})
    assert error == "Unhandled" and body["errorType"] == "Error" and body["errorMessage"] == "async crash"
    assert invoke(lam, name, {"kind": "ok"})[0] == "fine"  # a fresh runtime after the crash


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"other.js": ""}, "index.handler", "Runtime.ImportModuleError", "Error: Cannot find module 'index'"),
        (
            {"index.js": "exports.other = 1;"},
            "index.handler",
            "Runtime.HandlerNotFound",
            "index.handler is undefined or not exported",
        ),
        (
            {"index.js": "exports.handler = async () => {"},
            "index.handler",
            "Runtime.UserCodeSyntaxError",
            "SyntaxError: ",
        ),
        ({"index.js": ""}, "index", "Runtime.MalformedHandlerName", "Bad handler"),
        ({"index.js": "throw new RangeError('init failed');"}, "index.handler", "RangeError", "init failed"),
    ],
    ids=["missing-module", "missing-handler", "syntax", "malformed", "init-throws"],
)
def test_init_errors(lam, deploy, node, files, handler, error_type, message):
    name = deploy(files, handler=handler, runtime=node)
    body, error, _ = invoke(lam, name)
    assert error == "Unhandled"
    assert body["errorType"] == error_type and body["errorMessage"].startswith(message), body


def test_a_missing_interpreter_is_refused_at_create(raw_lam, server):
    missing = next(r for r in ("nodejs24.x", "nodejs22.x") if r not in server.health()["runtimes"])
    with pytest.raises(raw_lam.exceptions.InvalidParameterValueException, match=rf"{missing} is not available"):
        raw_lam.create_function(
            FunctionName="no-node", Runtime=missing, Role=ROLE, Handler="index.handler",
            Code={"ZipFile": make_zip({"index.js": ""})},
        )  # fmt: skip


def test_streamed_responses_arrive_piece_by_piece(lam, deploy, node):
    source = """
exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.write("one,");
  await new Promise((resolve) => setTimeout(resolve, 50));
  responseStream.write("two");
  if (event.fail) throw new Error("failed midway");
  responseStream.end();
});
"""
    name = deploy({"index.js": source}, handler="index.handler", runtime=node)
    events = list(lam.invoke_with_response_stream(FunctionName=name, Payload=b"{}")["EventStream"])
    chunks = [event["PayloadChunk"]["Payload"] for event in events if "PayloadChunk" in event]
    assert b"".join(chunks) == b"one,two" and len(chunks) >= 2
    assert "ErrorCode" not in events[-1]["InvokeComplete"]
    assert lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read() == b"one,two"  # buffered: whole

    events = list(lam.invoke_with_response_stream(FunctionName=name, Payload=b'{"fail": true}')["EventStream"])
    complete = events[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "Error" and complete["ErrorDetails"] == "failed midway"


def test_a_synchronous_handler_without_callback_answers_null_when_the_loop_is_empty(lam, deploy, node):
    source = "exports.handler = (event) => { setTimeout(() => console.log('later'), 100); return 'ignored'; };"
    name = deploy({"index.js": source}, handler="index.handler", runtime=node)
    body, error, log = invoke(lam, name)
    assert error is None and body is None  # Lambda ignores a non-async handler's return value
    assert "\tINFO\tlater" in log  # and the answer waited for the pending timer
