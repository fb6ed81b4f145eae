// Kindling's Node.js runtime: loads the handler and serves invocations over the Lambda Runtime API.
//
// Mounted read-only at /var/runtime and started as `node /var/runtime/index.mjs` inside the sandbox
// (Node cannot be forked from Kindling's Python zygote, so it is exec'ed after isolation). Standard
// library only. Mirrors what aws-lambda-nodejs-runtime-interface-client does that handlers can see:
// handler resolution and its Runtime.* errors, CommonJS and ES modules, async and callback handlers,
// the context object, console lines as `<time>\t<request id>\t<LEVEL>\t<message>`, and errors as
// {errorType, errorMessage, trace}.

import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import util from "node:util";

// ------------------------------------------------------------------ pre-started (sandbox/prestart.py)
// One exchange of the Runtime API client with a stand-in on loopback, so that its code is compiled.
async function rehearseRuntimeApi() {
  const standIn = net.createServer((socket) => {
    socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"));
  });
  await new Promise((resolve) => standIn.listen(0, "127.0.0.1", resolve));
  try {
    await new RuntimeClient("127.0.0.1", standIn.address().port).request("GET", "/invocation/next");
  } finally {
    standIn.close();
  }
}

// Started before its function exists, with the runtime loaded: it rehearses, then waits for the claim, one line
// of JSON on fd 3 naming the environment variables, by when the function's code is mounted at /var/task.
async function claimed() {
  try { // a rehearsal of a cold start's code (the ES module loader's first file costs a few ms), while it waits
    const rehearsal = await loadModule("/var/runtime/rehearsal", "rehearsal", createRequire("/var/runtime/index.js"));
    const headers = { "lambda-runtime-deadline-ms": "0", "lambda-runtime-cognito-identity": "{}" };
    JSON.stringify(await runHandler(rehearsal.handler, JSON.parse('{"k": [1, 2.5, true, null, "s"]}'), headers));
    await rehearseRuntimeApi();
  } catch {
    // a rehearsal only: the function's start reports its own errors
  }
  const claim = await new Promise((resolve, reject) => {
    const socket = new net.Socket({ fd: 3, readable: true, writable: false });
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => {
      text += chunk;
      if (text.includes("\n")) {
        socket.destroy();
        resolve(JSON.parse(text.slice(0, text.indexOf("\n"))));
      }
    });
    socket.on("error", reject);
    socket.on("end", () => reject(new Error("the sandbox was not claimed")));
  });
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, claim.env);
  process.chdir("/var/task"); // the mount that now covers the directory it was started in
}

const BASE = "/2018-06-01/runtime";
let currentRequestId;

// ------------------------------------------------------------------ Runtime API client
// One kept-alive socket and a small HTTP/1.1 reader instead of node:http, whose request and response
// objects cost more than the rest of a warm invocation (measured: 217 -> 107 us of CPU per invoke). The
// socket is unref'ed while no request waits on it, so callback handlers still see the event loop empty.
// (Streamed responses, chunked with trailers, still use node:http on a connection of their own.)
const EMPTY = Buffer.alloc(0);

class RuntimeClient {
  constructor(host, port) {
    this.host = host;
    this.port = Number(port);
    this.socket = null;
    this.waiting = []; // resolvers of the requests sent, in order
    this.chunks = []; // what has arrived of the replies not yet taken
    this.size = 0;
    this.head = null; // the parsed head of the reply being read
  }

  request(method, route, body, headers = {}) {
    const data = body === undefined ? EMPTY : Buffer.from(body);
    let head = `${method} ${BASE}${route} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    head += `Content-Length: ${data.length}\r\n\r\n`;
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      const socket = this.connected();
      socket.ref();
      socket.write(data.length ? Buffer.concat([Buffer.from(head, "latin1"), data]) : head);
    });
  }

  connected() {
    if (this.socket === null) {
      const socket = (this.socket = net.connect({ host: this.host, port: this.port }));
      socket.setNoDelay(true);
      socket.on("data", (chunk) => this.take(chunk));
      socket.on("error", () => {}); // "close" follows and fails whatever waits
      socket.on("close", () => {
        if (this.socket === socket) this.socket = null;
        this.chunks = [];
        this.size = 0;
        this.head = null;
        for (const { reject } of this.waiting.splice(0)) reject(new Error("the Runtime API closed the connection"));
      });
    }
    return this.socket;
  }

  // Replies are read as they come: the head once it is whole, the body once Content-Length bytes are in,
  // joining the chunks of a large event once rather than on every read.
  take(chunk) {
    this.chunks.push(chunk);
    this.size += chunk.length;
    for (;;) {
      if (this.head === null) {
        const buffer = this.joined();
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const lines = buffer.toString("latin1", 0, end).split("\r\n");
        const headers = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(":");
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const status = Number(lines[0].split(" ")[1]);
        this.head = { status, headers, start: end + 4, length: Number(headers["content-length"] || 0) };
      }
      const { status, headers, start, length } = this.head;
      if (this.size < start + length) return;
      const buffer = this.joined();
      const body = buffer.subarray(start, start + length);
      const rest = buffer.subarray(start + length);
      this.chunks = rest.length ? [rest] : [];
      this.size = rest.length;
      this.head = null;
      const waiter = this.waiting.shift();
      if (headers.connection === "close") this.socket.destroy();
      else if (!this.waiting.length) this.socket.unref(); // an idle socket must not keep the event loop from emptying
      if (waiter) waiter.resolve({ status, headers, body });
    }
  }

  joined() {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0] || EMPTY;
  }
}

if (process.env.KINDLING_PRESTARTED) await claimed();
const [HOST, PORT] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const TASK_ROOT = process.env.LAMBDA_TASK_ROOT || "/var/task";
const client = new RuntimeClient(HOST, PORT);
const call = (method, route, body, headers) => client.request(method, route, body, headers);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 }); // streamed responses only

async function postError(route, error) {
  const body = JSON.stringify(error);
  await call("POST", route, body, { "Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": error.errorType });
}

// ------------------------------------------------------------------ logging
const LEVELS = { log: "INFO", info: "INFO", warn: "WARN", error: "ERROR", debug: "DEBUG", trace: "TRACE" };
for (const [method, level] of Object.entries(LEVELS)) {
  console[method] = (...args) => {
    const message = util.format(...args).replace(/\n/g, "\r");
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${message}\n`);
  };
}

// ------------------------------------------------------------------ errors
class RuntimeError extends Error {
  constructor(name, message, cause) {
    super(message);
    this.name = name;
    if (cause) this.stack = `${name}: ${message}\n${(cause.stack || "").split("\n").slice(1).join("\n")}`;
  }
}

function shape(error) {
  if (error instanceof Error || (error && typeof error.stack === "string" && error.message !== undefined)) {
    return { errorType: error.name, errorMessage: error.message, trace: String(error.stack || "").split("\n") };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

// ------------------------------------------------------------------ handler loading
function hasTypeModule(file) {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      try {
        return JSON.parse(fs.readFileSync(manifest, "utf8")).type === "module";
      } catch {
        return false;
      }
    }
    if (dir === path.dirname(dir) || dir === "/") return false;
  }
}

async function loadModule(base, moduleName, require) {
  const exists = (file) => fs.existsSync(file) && fs.statSync(file).isFile();
  if (exists(`${base}.mjs`) && !exists(`${base}.js`)) return import(pathToFileURL(`${base}.mjs`).href);
  if (exists(`${base}.js`)) {
    return hasTypeModule(`${base}.js`) ? import(pathToFileURL(`${base}.js`).href) : require(`${base}.js`);
  }
  if (exists(`${base}.cjs`)) return require(`${base}.cjs`);
  if (exists(base)) return require(base);
  return require(require.resolve(moduleName, { paths: [TASK_ROOT, ...(process.env.NODE_PATH || "").split(":")] }));
}

async function loadHandler(handlerString) {
  const fileAndFunction = path.basename(handlerString);
  const moduleRoot = handlerString.slice(0, handlerString.length - fileAndFunction.length);
  const match = fileAndFunction.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new RuntimeError("Runtime.MalformedHandlerName", "Bad handler");
  const [, moduleName, functionPath] = match;
  const base = path.resolve(TASK_ROOT, moduleRoot, moduleName);
  const require = createRequire(path.join(TASK_ROOT, "index.js"));
  let loaded;
  try {
    loaded = await loadModule(base, moduleName, require);
  } catch (error) {
    if (error instanceof SyntaxError) throw new RuntimeError("Runtime.UserCodeSyntaxError", `${error.name}: ${error.message}`, error);
    if (error && (error.code === "MODULE_NOT_FOUND" || error.code === "ERR_MODULE_NOT_FOUND") && String(error.message).includes(moduleName)) {
      throw new RuntimeError("Runtime.ImportModuleError", `Error: Cannot find module '${moduleName}'\nRequire stack:\n- /var/runtime/index.mjs`, error);
    }
    throw error;
  }
  const handler = functionPath.split(".").reduce((object, key) => (object == null ? undefined : object[key]), loaded);
  if (handler === undefined && loaded && loaded.default) {
    const fallback = functionPath.split(".").reduce((object, key) => (object == null ? undefined : object[key]), loaded.default);
    if (typeof fallback === "function") return fallback;
  }
  if (handler === undefined) throw new RuntimeError("Runtime.HandlerNotFound", `${fileAndFunction} is undefined or not exported`);
  if (typeof handler !== "function") throw new RuntimeError("Runtime.HandlerNotFound", `${fileAndFunction} is not a function`);
  return handler;
}

// ------------------------------------------------------------------ the context object
function makeContext(headers, finish) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"]);
  const env = process.env;
  const json = (name) => (headers[name] ? JSON.parse(headers[name]) : undefined);
  const clientContext = json("lambda-runtime-client-context");
  const identity = json("lambda-runtime-cognito-identity");
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: identity && { cognitoIdentityId: identity.cognitoIdentityId, cognitoIdentityPoolId: identity.cognitoIdentityPoolId },
    clientContext,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    done: (error, result) => finish(error, result),
    succeed: (result) => finish(null, result),
    fail: (error) => finish(error || "handled"),
  };
}

// ------------------------------------------------------------------ response streaming
const STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");
const HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response";
globalThis.awslambda = {
  streamifyResponse(handler) {
    handler[STREAMING] = true;
    return handler;
  },
  HttpResponseStream: class HttpResponseStream {
    static from(stream, prelude) {
      stream.setContentType(HTTP_INTEGRATION);
      stream.write(JSON.stringify(prelude));
      stream.write(new Uint8Array(8)); // eight NUL bytes end the prelude
      return stream;
    }
  },
};

// A streamed handler writes into the POST of its response as it goes (chunked, errors in trailers).
function runStreaming(handler, event, headers, requestId) {
  return new Promise((resolve) => {
    const request = http.request({
      host: HOST, port: PORT, path: `${BASE}/invocation/${requestId}/response`, method: "POST", agent,
      headers: {
        "Lambda-Runtime-Function-Response-Mode": "streaming",
        "Transfer-Encoding": "chunked",
        Trailer: "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
        "Content-Type": "application/octet-stream",
      },
    });
    request.setContentType = (type) => request.setHeader("Content-Type", type);
    request.on("socket", (socket) => socket.setNoDelay(true));
    request.on("response", (response) => response.resume().on("end", resolve));
    request.on("error", resolve);
    const fail = (error) => {
      const shaped = shape(error);
      console.error("Invoke Error", `\t${JSON.stringify(shaped)}`);
      const body = Buffer.from(JSON.stringify(shaped)).toString("base64");
      request.addTrailers({ "Lambda-Runtime-Function-Error-Type": shaped.errorType, "Lambda-Runtime-Function-Error-Body": body });
      request.end();
    };
    let returned;
    try {
      returned = Promise.resolve(handler(event, request, makeContext(headers, () => {})));
    } catch (error) {
      returned = Promise.reject(error);
    }
    returned.then(() => request.writableEnded || request.end(), fail);
  });
}

// ------------------------------------------------------------------ the invoke loop
function runHandler(handler, event, headers) {
  return new Promise((resolve) => {
    let settled = false;
    let waitForLoop = false;
    const whenEmpty = () => finish(null, null);
    const finish = (error, result) => {
      if (settled) return;
      settled = true;
      process.removeListener("beforeExit", whenEmpty);
      const outcome = error !== undefined && error !== null ? { error } : { result };
      if (waitForLoop && context.callbackWaitsForEmptyEventLoop) process.once("beforeExit", () => resolve(outcome));
      else resolve(outcome);
    };
    const context = makeContext(headers, finish);
    try {
      const returned = handler(event, context, (error, result) => {
        waitForLoop = true;
        finish(error, result);
      });
      if (returned && typeof returned.then === "function") {
        returned.then((result) => finish(null, result), (error) => finish(error ?? "rejected"));
      } else if (!settled) {
        process.once("beforeExit", whenEmpty); // neither a promise nor the callback: null once the loop is empty
      }
    } catch (error) {
      finish(error);
    }
  });
}

async function serve(handler) {
  for (;;) {
    const next = await call("GET", "/invocation/next");
    const headers = next.headers;
    const requestId = headers["lambda-runtime-aws-request-id"];
    currentRequestId = requestId;
    if (headers["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = headers["lambda-runtime-trace-id"];
    else delete process.env._X_AMZN_TRACE_ID;
    let outcome;
    try {
      const event = next.body.length ? JSON.parse(next.body.toString("utf8")) : {};
      if (handler[STREAMING]) {
        await runStreaming(handler, event, headers, requestId);
        continue;
      }
      outcome = await runHandler(handler, event, headers);
    } catch (error) {
      outcome = { error: new RuntimeError("Runtime.UnmarshalError", `Unable to parse the event: ${error.message}`) };
    }
    if ("error" in outcome) {
      const error = shape(outcome.error);
      console.error("Invoke Error", `\t${JSON.stringify(error)}`);
      await postError(`/invocation/${requestId}/error`, error);
      continue;
    }
    let body;
    try {
      body = JSON.stringify(outcome.result === undefined ? null : outcome.result);
    } catch (error) {
      const marshal = shape(new RuntimeError("Runtime.MarshalError", `Unable to stringify response body: ${error.message}`));
      await postError(`/invocation/${requestId}/error`, marshal);
      continue;
    }
    await call("POST", `/invocation/${requestId}/response`, body, { "Content-Type": "application/json" });
  }
}

async function fatal(kind, error) {
  const shaped = shape(error);
  console.error(kind, `\t${JSON.stringify(shaped)}`);
  const route = currentRequestId ? `/invocation/${currentRequestId}/error` : "/init/error";
  try {
    await postError(route, shaped);
  } finally {
    process.exit(129);
  }
}

process.on("uncaughtException", (error) => fatal("Uncaught Exception", error));
process.on("unhandledRejection", (reason) =>
  fatal("Unhandled Promise Rejection", new RuntimeError("Runtime.UnhandledPromiseRejection", `${reason instanceof Error ? reason.name + ": " + reason.message : String(reason)}`, reason instanceof Error ? reason : undefined)),
);

let handler;
try {
  handler = await loadHandler(process.env._HANDLER || "");
} catch (error) {
  await fatal("Init Error", error);
}
await serve(handler);
