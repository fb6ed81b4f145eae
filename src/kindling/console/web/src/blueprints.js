// Blueprints: starting code for Python and Node (and Ruby for hello world), and the trigger each one sets up once the function exists,
// through the same public APIs any client uses (S3, SQS, Lambda permissions, mappings, URLs, schedules).
import { lambda } from "./api.js";
import { s3, sqs } from "./services.js";

const S3_PY = `import urllib.parse

import boto3

s3 = boto3.client("s3")


def lambda_handler(event, context):
    """Runs for each new object in the bucket: logs and returns its content type."""
    record = event["Records"][0]["s3"]
    bucket = record["bucket"]["name"]
    key = urllib.parse.unquote_plus(record["object"]["key"])
    head = s3.head_object(Bucket=bucket, Key=key)
    print(f"New object s3://{bucket}/{key} of type {head['ContentType']}")
    return head["ContentType"]
`;
const S3_NODE = `import { S3Client, HeadObjectCommand } from "@aws-sdk/client-s3";

const s3 = new S3Client({});

// Runs for each new object in the bucket: logs and returns its content type.
export const handler = async (event) => {
  const record = event.Records[0].s3;
  const bucket = record.bucket.name;
  const key = decodeURIComponent(record.object.key.replace(/\\+/g, " "));
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  console.log(\`New object s3://\${bucket}/\${key} of type \${head.ContentType}\`);
  return head.ContentType;
};
`;
const SQS_PY = `def lambda_handler(event, context):
    """Runs for each batch of messages; a batch that raises is received again."""
    for record in event["Records"]:
        print(f"Message {record['messageId']}: {record['body']}")
    return {"processed": len(event["Records"])}
`;
const SQS_NODE = `// Runs for each batch of messages; a batch that throws is received again.
export const handler = async (event) => {
  for (const record of event.Records) {
    console.log(\`Message \${record.messageId}: \${record.body}\`);
  }
  return { processed: event.Records.length };
};
`;
const HTTP_PY = `import json


def lambda_handler(event, context):
    """Answers every request to the function URL with what was asked."""
    http = event["requestContext"]["http"]
    body = {"message": f"Hello from {http['method']} {http['path']}", "query": event.get("queryStringParameters") or {}}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
`;
const HTTP_NODE = `// Answers every request to the function URL with what was asked.
export const handler = async (event) => {
  const { method, path } = event.requestContext.http;
  const body = { message: \`Hello from \${method} \${path}\`, query: event.queryStringParameters || {} };
  return { statusCode: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
};
`;
const CRON_PY = `from datetime import datetime, timezone


def lambda_handler(event, context):
    """Runs on the schedule; the event is a "Scheduled Event"."""
    print(f"Scheduled run at {datetime.now(timezone.utc).isoformat()} (event time {event.get('time')})")
    return "done"
`;
const CRON_NODE = `// Runs on the schedule; the event is a "Scheduled Event".
export const handler = async (event) => {
  console.log(\`Scheduled run at \${new Date().toISOString()} (event time \${event.time})\`);
  return "done";
};
`;
const HELLO_PY = `import json

print('Loading function')


def lambda_handler(event, context):
    print("Received event: " + json.dumps(event, indent=2))
    print("value1 = " + str(event.get('key1')))
    return event.get('key1')
`;
const HELLO_NODE = `console.log('Loading function');

export const handler = async (event) => {
  console.log('Received event:', JSON.stringify(event, null, 2));
  console.log('value1 =', event.key1);
  return event.key1;
};
`;

const HELLO_RUBY = `require 'json'

puts 'Loading function'

def lambda_handler(event:, context:)
  puts "Received event: #{JSON.pretty_generate(event)}"
  puts "value1 = #{event['key1']}"
  event['key1']
end
`;

const statementId = (prefix) => `${prefix}-${Date.now().toString(36)}`;

/** Each blueprint: its code per language, the fields its trigger asks for, the role permissions its
 * trigger needs (grants(values): policy statements), and attach(fn, values). */
export const BLUEPRINTS = [
  { id: "hello-world", title: "Hello world function", summary: "Logs the event and returns key1.", python: HELLO_PY, node: HELLO_NODE, ruby: HELLO_RUBY, fields: [] },
  {
    id: "s3-object",
    title: "Get S3 object",
    summary: "An S3 trigger: runs for each object created in a bucket and logs its content type.",
    python: S3_PY,
    node: S3_NODE,
    fields: [{ label: "Bucket name", key: "bucket", pattern: "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]" }],
    // AWS's "Amazon S3 object read-only permissions" policy template
    grants: ({ bucket }) => [{ Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket}/*` }],
    async attach(config, { bucket }) {
      await s3.ensureBucket(bucket);
      await lambda.addPermission(config.FunctionName, {
        StatementId: statementId("s3-invoke"), Action: "lambda:InvokeFunction", Principal: "s3.amazonaws.com", SourceArn: `arn:aws:s3:::${bucket}`,
      });
      await s3.notifyFunction(bucket, config.FunctionArn);
      return `S3 bucket ${bucket}`;
    },
  },
  {
    id: "sqs-consumer",
    title: "Process SQS messages",
    summary: "An SQS trigger: an event source mapping polls the queue and hands its messages to the function in batches.",
    python: SQS_PY,
    node: SQS_NODE,
    fields: [{ label: "Queue name", key: "queue", pattern: "[A-Za-z0-9_-]{1,80}" }, { label: "Batch size", key: "batch", value: "10", type: "number" }],
    // AWS's "Amazon SQS poller permissions" policy template
    grants: ({ queue }) => [{
      Effect: "Allow",
      Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
      Resource: `arn:aws:sqs:*:*:${queue}`,
    }],
    async attach(config, { queue, batch }) {
      const arn = await sqs.ensureQueue(queue);
      await lambda.createMapping({ FunctionName: config.FunctionName, EventSourceArn: arn, BatchSize: Number(batch) || 10 });
      return `SQS queue ${queue}`;
    },
  },
  {
    id: "http-api",
    title: "HTTP API (function URL)",
    summary: "A public function URL (auth type NONE) that answers HTTP requests with JSON.",
    python: HTTP_PY,
    node: HTTP_NODE,
    fields: [],
    async attach(config) {
      await lambda.addPermission(config.FunctionName, {
        StatementId: "FunctionURLAllowPublicAccess", Action: "lambda:InvokeFunctionUrl", Principal: "*", FunctionUrlAuthType: "NONE",
      });
      const url = await lambda.createUrl(config.FunctionName);
      return `function URL ${url.FunctionUrl}`;
    },
  },
  {
    id: "scheduled-job",
    title: "Scheduled job",
    summary: "Runs the function on a schedule (a rate or cron expression).",
    python: CRON_PY,
    node: CRON_NODE,
    fields: [{ label: "Schedule expression", key: "expression", value: "rate(5 minutes)" }],
    async attach(config, { expression }) {
      await lambda.putSchedule(`${config.FunctionName}-schedule`, { ScheduleExpression: expression, FunctionName: config.FunctionName, State: "ENABLED" });
      return `schedule ${expression}`;
    },
  },
];
