// The other AWS APIs the console calls on the same port, as any SDK calls them: S3 (REST with XML bodies),
// IAM (query protocol), SQS and CloudWatch (JSON protocol). S3, IAM and SQS are found by the service their
// signature names.
import { ApiError, request } from "./api.js";

const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

/** A call to an XML API (S3's REST, IAM's query protocol): the answer's document, or the error it carries. */
async function xmlCall(service, method, path, body, contentType = "application/xml") {
  const headers = body ? { "content-type": contentType } : {};
  const res = await request(method, path, { body, headers, service, raw: true, signAnyway: true });
  const text = await res.text();
  const doc = text ? new DOMParser().parseFromString(text, "application/xml") : null;
  const tag = (name) => doc?.getElementsByTagName(name)[0]?.textContent;
  if (!res.ok) throw new ApiError(tag("Message") || res.statusText, tag("Code"), res.status);
  return doc;
}

const s3Call = (method, path, body) => xmlCall("s3", method, path, body);

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

const TRUST = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }] };

function iamCall(action, params) {
  const body = new URLSearchParams({ Action: action, Version: "2010-05-08", ...params }).toString();
  return xmlCall("iam", "POST", "/", body, "application/x-www-form-urlencoded; charset=utf-8");
}

export const iam = {
  /** The roles a function may take on (ARN and name), as ListRoles gives them. */
  async roles() {
    const doc = await iamCall("ListRoles", { MaxItems: "1000" });
    return [...doc.getElementsByTagName("member")].filter((m) => m.getElementsByTagName("Arn").length)
      .map((m) => ({ arn: m.getElementsByTagName("Arn")[0].textContent, name: m.getElementsByTagName("RoleName")[0].textContent }));
  },
  /** What AWS's console makes for "Create a new role with basic Lambda permissions": a role Lambda may assume,
   * allowed to write the function's logs. Returns its ARN. */
  /** A new role Lambda may assume, allowed to write the function's logs, plus ``grants`` (the policy
   * statements a blueprint's trigger needs, as AWS's console adds its policy templates). */
  async createBasicRole(functionName, region, grants = []) {
    const name = `${functionName.slice(0, 44)}-role-${Math.random().toString(36).slice(2, 10)}`;
    const doc = await iamCall("CreateRole", { RoleName: name, Path: "/service-role/", AssumeRolePolicyDocument: JSON.stringify(TRUST) });
    const arn = doc.getElementsByTagName("Arn")[0].textContent;
    const logs = `arn:aws:logs:${region}:${arn.split(":")[4]}`;
    const policy = { Version: "2012-10-17", Statement: [
      { Effect: "Allow", Action: "logs:CreateLogGroup", Resource: `${logs}:*` },
      { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${logs}:log-group:/aws/lambda/${functionName}:*`] },
    ] };
    await iamCall("PutRolePolicy", { RoleName: name, PolicyName: "AWSLambdaBasicExecutionRole", PolicyDocument: JSON.stringify(policy) });
    if (grants.length) {
      const extra = { Version: "2012-10-17", Statement: grants };
      await iamCall("PutRolePolicy", { RoleName: name, PolicyName: "BlueprintTriggerAccess", PolicyDocument: JSON.stringify(extra) });
    }
    return arn;
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
