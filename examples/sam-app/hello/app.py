import json

from greeting import greet  # from the layer


def handler(event, context):
    name = event["pathParameters"]["name"] if event.get("pathParameters") else "world"
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": greet(name), "version": context.function_version}),
    }
