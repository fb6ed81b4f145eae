// The console's only way to the server: the public Lambda REST API, CloudWatch Logs' JSON API and Kindling's
// documented endpoints, on the page's own origin, signed when the user signed in with a key.
import { messages } from "./eventstream.js";
import { sign } from "./sigv4.js";

const KEY = "kindling.console.credentials";
let credentials = JSON.parse(sessionStorage.getItem(KEY) || "null");

export const signedIn = () => credentials;
export function setCredentials(value) {
  credentials = value;
  if (value) sessionStorage.setItem(KEY, JSON.stringify(value));
  else sessionStorage.removeItem(KEY);
}

// the codes of a request refused for its signature or key (not for what the key may do)
const SIGN_IN_FAILURES = /^(UnrecognizedClient|InvalidSignature|IncompleteSignature|MissingAuthenticationToken|SignatureDoesNotMatch|InvalidAccessKeyId|ExpiredToken)/;

export class ApiError extends Error {
  constructor(message, type, status) {
    super(message);
    this.type = type;
    this.status = status;
  }

  get signInFailed() {
    return SIGN_IN_FAILURES.test(this.type || "");
  }
}

// S3 and SQS calls are routed by the service their signature names, so they are signed with this placeholder
// when nobody signed in (the server then checks no signature)
const ANONYMOUS = { accessKeyId: "console", secretAccessKey: "console", region: "us-east-1" };

export async function request(method, path, { body, headers = {}, service = "lambda", raw = false, signAnyway = false, signal } = {}) {
  const url = new URL(path, location.origin);
  let payload = body;
  if (body !== undefined && !(typeof body === "string" || body instanceof Uint8Array)) payload = JSON.stringify(body);
  const sent = { ...headers };
  if (payload !== undefined && !sent["content-type"]) sent["content-type"] = "application/json";
  const keys = credentials || (signAnyway ? ANONYMOUS : null);
  const signed = keys ? await sign({ method, url, headers: sent, body: payload, service, ...keys }) : sent;
  const res = await fetch(url, { method, headers: signed, body: payload, signal });
  return raw ? res : answer(res);
}

/** The JSON of an answer, or the AWS error it carries (the type from the body or x-amzn-errortype). */
async function answer(res) {
  const text = await res.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { Message: text };
  }
  const type = data.__type || (res.headers.get("x-amzn-errortype") || "").split(":")[0] || data.Type;
  if (!res.ok) throw new ApiError(data.Message || data.message || res.statusText, type, res.status);
  return data;
}

const fn = (name) => `/2015-03-31/functions/${encodeURIComponent(name)}`;
export const lambda = {
  health: () => request("GET", "/health"),
  list: (marker) => request("GET", `/2015-03-31/functions/?MaxItems=50${marker ? "&Marker=" + encodeURIComponent(marker) : ""}`),
  async listAll() {
    const all = [];
    let marker;
    do {
      const page = await lambda.list(marker);
      all.push(...page.Functions);
      marker = page.NextMarker;
    } while (marker);
    return all;
  },
  get: (name) => request("GET", fn(name)),
  configuration: (name) => request("GET", `${fn(name)}/configuration`),
  create: (params) => request("POST", "/2015-03-31/functions", { body: params }),
  remove: (name) => request("DELETE", fn(name)),
  updateCode: (name, zipBase64) => request("PUT", `${fn(name)}/code`, { body: { ZipFile: zipBase64 } }),
  updateConfiguration: (name, params) => request("PUT", `${fn(name)}/configuration`, { body: params }),
  invoke: (name, payload) =>
    request("POST", `${fn(name)}/invocations`, { body: payload, headers: { "x-amz-log-type": "Tail" }, raw: true }),
  publish: (name, description) => request("POST", `${fn(name)}/versions`, { body: { Description: description || "" } }),
  versions: (name) => request("GET", `${fn(name)}/versions`),
  aliases: (name) => request("GET", `${fn(name)}/aliases`),
  createAlias: (name, params) => request("POST", `${fn(name)}/aliases`, { body: params }),
  policy: (name) => request("GET", `${fn(name)}/policy`),
  url: (name) => request("GET", `/2021-10-31/functions/${encodeURIComponent(name)}/url`),
  createUrl: (name) => request("POST", `/2021-10-31/functions/${encodeURIComponent(name)}/url`, { body: { AuthType: "NONE" } }),
  concurrency: (name) => request("GET", `/2019-09-30/functions/${encodeURIComponent(name)}/concurrency`),
  putConcurrency: (name, n) =>
    request("PUT", `/2017-10-31/functions/${encodeURIComponent(name)}/concurrency`, { body: { ReservedConcurrentExecutions: n } }),
  deleteConcurrency: (name) => request("DELETE", `/2017-10-31/functions/${encodeURIComponent(name)}/concurrency`),
  provisioned: (name) => request("GET", `/2019-09-30/functions/${encodeURIComponent(name)}/provisioned-concurrency?List=ALL`),
  putProvisioned: (name, qualifier, n) =>
    request("PUT", `/2019-09-30/functions/${encodeURIComponent(name)}/provisioned-concurrency?Qualifier=${encodeURIComponent(qualifier)}`, {
      body: { ProvisionedConcurrentExecutions: n },
    }),
  eventConfig: (name) => request("GET", `/2019-09-25/functions/${encodeURIComponent(name)}/event-invoke-config`),
  putEventConfig: (name, params) =>
    request("PUT", `/2019-09-25/functions/${encodeURIComponent(name)}/event-invoke-config`, { body: params }),
  tags: (arn) => request("GET", `/2017-03-31/tags/${encodeURIComponent(arn)}`),
  tag: (arn, tags) => request("POST", `/2017-03-31/tags/${encodeURIComponent(arn)}`, { body: { Tags: tags } }),
  addPermission: (name, statement) => request("POST", `${fn(name)}/policy`, { body: statement }),
  mappings: (name) => request("GET", `/2015-03-31/event-source-mappings/?FunctionName=${encodeURIComponent(name)}`),
  createMapping: (params) => request("POST", "/2015-03-31/event-source-mappings/", { body: params }),
  updateMapping: (uuid, params) => request("PUT", `/2015-03-31/event-source-mappings/${uuid}`, { body: params }),
  deleteMapping: (uuid) => request("DELETE", `/2015-03-31/event-source-mappings/${uuid}`),
  layers: () => request("GET", "/2018-10-31/layers"),
  layerVersions: (layer) => request("GET", `/2018-10-31/layers/${encodeURIComponent(layer)}/versions`),
  schedules: () => request("GET", "/kindling/schedules"),
  putSchedule: (rule, params) => request("PUT", `/kindling/schedules/${encodeURIComponent(rule)}`, { body: params }),
  deleteSchedule: (rule) => request("DELETE", `/kindling/schedules/${encodeURIComponent(rule)}`),
  routeTables: () => request("GET", "/kindling/apis"),
};

export const logs = {
  call: (operation, params, options = {}) =>
    request("POST", "/", {
      body: JSON.stringify(params),
      service: "logs",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `Logs_20140328.${operation}` },
      ...options,
    }),
  /** StartLiveTail on the function's log group: yields [] once the session started, then each second's
   * matching events, until signal aborts. */
  async *liveTail(functionName, filterPattern, signal) {
    const params = { logGroupIdentifiers: [`/aws/lambda/${functionName}`] };
    if (filterPattern) params.logEventFilterPattern = filterPattern;
    const res = await logs.call("StartLiveTail", params, { raw: true, signal });
    if (!res.ok) await answer(res);
    for await (const message of messages(res.body)) {
      if (message.messageType === "exception") throw new ApiError(message.payload.message || message.type, message.type, 500);
      if (message.type === "sessionStart") yield []; // positioned: what comes next is streamed
      if (message.type === "sessionUpdate") yield message.payload.sessionResults || [];
    }
  },
  /** Every event of a function's log group since startTime that matches the filter pattern. */
  async filter(functionName, startTime, filterPattern, limit = 2000) {
    const events = [];
    let nextToken;
    do {
      const params = { logGroupName: `/aws/lambda/${functionName}`, startTime, limit: 1000 };
      if (filterPattern) params.filterPattern = filterPattern;
      if (nextToken) params.nextToken = nextToken;
      let page;
      try {
        page = await logs.call("FilterLogEvents", params);
      } catch (error) {
        if (error.type && error.type.includes("ResourceNotFound")) return events; // never invoked
        throw error;
      }
      events.push(...page.events);
      nextToken = page.nextToken;
    } while (nextToken && events.length < limit);
    return events;
  },
};

/** The figures of a REPORT line, as the AWS console shows them under "Execution result". */
export function parseReport(line) {
  const figure = (label) => {
    const m = line.match(new RegExp(label + ": ([\\d.]+)"));
    return m ? Number(m[1]) : undefined;
  };
  return {
    requestId: (line.match(/RequestId: (\S+)/) || [])[1],
    duration: figure("Duration"),
    billed: figure("Billed Duration"),
    memorySize: figure("Memory Size"),
    maxMemory: figure("Max Memory Used"),
    init: figure("Init Duration"),
    failed: /Status: (error|timeout)/.test(line),
  };
}
