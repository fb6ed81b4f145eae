// Starting code per runtime (AWS's defaults) and the test event templates the AWS console offers.
const PYTHON = `import json

def lambda_handler(event, context):
    # TODO implement
    return {
        'statusCode': 200,
        'body': json.dumps('Hello from Lambda!')
    }
`;
const NODE = `export const handler = async (event) => {
  // TODO implement
  const response = {
    statusCode: 200,
    body: JSON.stringify('Hello from Lambda!'),
  };
  return response;
};
`;
const RUBY = `require 'json'

def lambda_handler(event:, context:)
    # TODO implement
    { statusCode: 200, body: JSON.generate('Hello from Lambda!') }
end
`;
// a custom runtime (provided.*) in shell and curl, which the runtime's image has
const BOOTSTRAP = `#!/bin/sh
# A custom runtime in shell: takes the next event from the Runtime API, runs the handler named by _HANDLER
# (file.function) with the event as its argument, and posts what it printed as the response.
set -eu
api="http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
. "\$LAMBDA_TASK_ROOT/\${_HANDLER%%.*}.sh"
while true; do
  event=\$(curl -sS -D /tmp/headers "\$api/invocation/next")
  id=\$(grep -i '^lambda-runtime-aws-request-id:' /tmp/headers | cut -d: -f2 | tr -d '[:space:]')
  if response=\$("\${_HANDLER#*.}" "\$event"); then
    curl -sS -o /dev/null -X POST --data-binary "\$response" "\$api/invocation/\$id/response"
  else
    curl -sS -o /dev/null -X POST -H "Lambda-Runtime-Function-Error-Type: Unhandled" \\
      --data-binary '{"errorType": "Unhandled", "errorMessage": "the handler failed"}' "\$api/invocation/\$id/error"
  fi
done
`;
const SHELL = `# The handler: \$1 is the event (JSON); what it prints is the response, what goes to stderr the log.
handler() {
  echo "Received event: \$1" >&2
  echo '{"statusCode": 200, "body": "\\"Hello from Lambda!\\""}'
}
`;

/** The files and handler a new function starts with (a blueprint's code, or AWS's default), or null when its
 * runtime needs an uploaded package. */
export function starter(runtime, blueprint = null) {
  if (runtime.startsWith("python")) return { files: { "lambda_function.py": blueprint ? blueprint.python : PYTHON }, handler: "lambda_function.lambda_handler" };
  if (runtime.startsWith("nodejs")) return { files: { "index.mjs": blueprint ? blueprint.node : NODE }, handler: "index.handler" };
  if (runtime.startsWith("ruby") && (!blueprint || blueprint.ruby)) return { files: { "lambda_function.rb": blueprint ? blueprint.ruby : RUBY }, handler: "lambda_function.lambda_handler" };
  if (runtime.startsWith("provided") && (!blueprint || blueprint.id === "hello-world")) return { files: { bootstrap: BOOTSTRAP, "function.sh": SHELL }, handler: "function.handler" };
  return null;
}

const now = "2026-01-01T00:00:00Z";
export const EVENT_TEMPLATES = {
  "hello-world": { key1: "value1", key2: "value2", key3: "value3" },
  "apigateway-http-api-proxy": {
    version: "2.0", routeKey: "$default", rawPath: "/my/path", rawQueryString: "parameter1=value1", headers: { "content-type": "application/json" },
    requestContext: { accountId: "123456789012", apiId: "api-id", domainName: "id.execute-api.us-east-1.amazonaws.com", http: { method: "POST", path: "/my/path", protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "agent" }, requestId: "id", routeKey: "$default", stage: "$default", time: "01/Jan/2026:00:00:00 +0000", timeEpoch: 1767225600000 },
    body: "Hello from Lambda", isBase64Encoded: false,
  },
  "lambda-url": {
    version: "2.0", routeKey: "$default", rawPath: "/", rawQueryString: "", headers: { host: "example.lambda-url.us-east-1.on.aws" },
    requestContext: { accountId: "anonymous", apiId: "example", domainName: "example.lambda-url.us-east-1.on.aws", http: { method: "GET", path: "/", protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "agent" }, requestId: "id", routeKey: "$default", stage: "$default", time: "01/Jan/2026:00:00:00 +0000", timeEpoch: 1767225600000 },
    isBase64Encoded: false,
  },
  "s3-put": { Records: [{ eventVersion: "2.0", eventSource: "aws:s3", awsRegion: "us-east-1", eventTime: now, eventName: "ObjectCreated:Put", s3: { s3SchemaVersion: "1.0", bucket: { name: "example-bucket", arn: "arn:aws:s3:::example-bucket" }, object: { key: "test/key", size: 1024, eTag: "0123456789abcdef0123456789abcdef" } } }] },
  "sqs-receive-message": { Records: [{ messageId: "19dd0b57-b21e-4ac1-bd88-01bbb068cb78", receiptHandle: "MessageReceiptHandle", body: "Hello from SQS!", attributes: { ApproximateReceiveCount: "1", SentTimestamp: "1523232000000" }, messageAttributes: {}, md5OfBody: "7b270e59b47ff90a553787216d55d91d", eventSource: "aws:sqs", eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:MyQueue", awsRegion: "us-east-1" }] },
  "sns-notification": { Records: [{ EventVersion: "1.0", EventSource: "aws:sns", EventSubscriptionArn: "arn:aws:sns:us-east-1:123456789012:sns-lambda:21be56ed", Sns: { Type: "Notification", MessageId: "95df01b4-ee98-5cb9-9903-4c221d41eb5e", TopicArn: "arn:aws:sns:us-east-1:123456789012:sns-lambda", Subject: "TestInvoke", Message: "Hello from SNS!", Timestamp: now, MessageAttributes: {} } }] },
  "eventbridge": { version: "0", id: "89d1a02d-5ec7-412e-82f5-13505f849b41", "detail-type": "Custom Event", source: "com.example", account: "123456789012", time: now, region: "us-east-1", resources: [], detail: { key: "value" } },
  "scheduled-event": { version: "0", id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event", source: "aws.events", account: "123456789012", time: now, region: "us-east-1", resources: ["arn:aws:events:us-east-1:123456789012:rule/my-schedule"], detail: {} },
};
