// The other AWS APIs the console calls on the same port, as any SDK calls them: S3 (REST with XML bodies),
// SQS and CloudWatch (JSON protocol). S3 and SQS are found by the service their signature names.
import { ApiError, request } from "./api.js";

const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

async function s3Call(method, path, body) {
  const headers = body ? { "content-type": "application/xml" } : {};
  const res = await request(method, path, { body, headers, service: "s3", raw: true, signAnyway: true });
  const text = await res.text();
  const doc = text ? new DOMParser().parseFromString(text, "application/xml") : null;
  const tag = (name) => doc?.getElementsByTagName(name)[0]?.textContent;
  if (!res.ok) throw new ApiError(tag("Message") || res.statusText, tag("Code"), res.status);
  return doc;
}

export const s3 = {
  /** Creates the bucket unless the caller has it already. */
  async ensureBucket(bucket) {
    try {
      await s3Call("PUT", `/${encodeURIComponent(bucket)}`);
    } catch (error) {
      if (error.type !== "BucketAlreadyOwnedByYou") throw error;
    }
  },
  /** Adds a function to the bucket's notifications, keeping the ones it has (PUT replaces the whole set). */
  async notifyFunction(bucket, functionArn, events = ["s3:ObjectCreated:*"]) {
    const path = `/${encodeURIComponent(bucket)}?notification`;
    const current = await s3Call("GET", path);
    const doc = current?.documentElement?.nodeName === "NotificationConfiguration"
      ? current
      : document.implementation.createDocument(S3_XMLNS, "NotificationConfiguration");
    const add = (parent, name, text) => {
      const el = doc.createElementNS(S3_XMLNS, name);
      if (text !== undefined) el.textContent = text;
      parent.append(el);
      return el;
    };
    const config = add(doc.documentElement, "CloudFunctionConfiguration");
    add(config, "Id", `console-${functionArn.split(":").pop()}`);
    add(config, "CloudFunction", functionArn);
    for (const event of events) add(config, "Event", event);
    await s3Call("PUT", path, new XMLSerializer().serializeToString(doc));
  },
};

function jsonCall(service, target, version, operation, params) {
  return request("POST", "/", {
    body: JSON.stringify(params),
    service,
    signAnyway: service === "sqs",
    headers: { "content-type": `application/x-amz-json-${version}`, "x-amz-target": `${target}.${operation}` },
  });
}

export const sqs = {
  /** The queue's ARN, creating the queue when it does not exist (CreateQueue returns an existing one). */
  async ensureQueue(name) {
    const { QueueUrl } = await jsonCall("sqs", "AmazonSQS", "1.0", "CreateQueue", { QueueName: name });
    const { Attributes } = await jsonCall("sqs", "AmazonSQS", "1.0", "GetQueueAttributes", { QueueUrl, AttributeNames: ["QueueArn"] });
    return Attributes.QueueArn;
  },
};

export const cloudwatch = {
  /** GetMetricData over [start, end) in seconds since the epoch: {id: {timestamps, values}}. */
  async metricData(queries, start, end) {
    const answer = await jsonCall("monitoring", "GraniteServiceVersion20100801", "1.0", "GetMetricData", {
      MetricDataQueries: queries, StartTime: start, EndTime: end, ScanBy: "TimestampAscending",
    });
    const out = {};
    for (const result of answer.MetricDataResults || []) out[result.Id] = { timestamps: result.Timestamps, values: result.Values };
    return out;
  },
};
