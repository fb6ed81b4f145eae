"""The example function: `kindling deploy examples/hello`, then `kindling invoke hello`."""

import json
import logging

logger = logging.getLogger()


def handler(event, context):
    name = event.get("name", "world")
    logger.info("greeting %s", name)
    print(json.dumps({"level": "INFO", "greeted": name, "request": context.aws_request_id}))
    return {"message": f"Hello, {name}!"}
