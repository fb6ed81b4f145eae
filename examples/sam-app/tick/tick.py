import logging
import os

from greeting import greet  # from the layer

logger = logging.getLogger("tick")


def handler(event, context):
    # LoggingConfig JSON in the template: this is one JSON line with level, logger and requestId
    logger.info("%s - the hello function is %s", greet("scheduler"), os.environ["HELLO_ARN"])
    return {"time": event.get("time")}
