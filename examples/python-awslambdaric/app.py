"""A Python handler served by AWS's own runtime interface client, awslambdaric, as a custom runtime."""


def handler(event, context):
    return {"hello": event.get("name", "world"), "request_id": context.aws_request_id}
