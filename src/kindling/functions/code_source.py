"""Code packages named by an S3 location (``S3Bucket``/``S3Key``/``S3ObjectVersion``), fetched as AWS does.

The object is read with boto3 from ``config.endpoint_for("s3")``: this server's own S3 by default, which is why
the fetch runs on a worker thread, never on the event loop that must answer it."""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from ..config import Config
from ..errors import InvalidParameterValue
from ..limits import UNZIPPED_MAX


def names_s3(location: dict[str, Any]) -> bool:
    """Whether a ``Code``/``Content`` structure (or UpdateFunctionCode's parameters) points at S3."""
    return bool(location.get("S3Bucket") or location.get("S3Key"))


def _client(config: Config) -> Any:
    session = boto3.session.Session()
    keys = {}
    if session.get_credentials() is None:  # the S3 on this port (or an emulator): the platform's own keys
        keys = dict(zip(("aws_access_key_id", "aws_secret_access_key"), config.platform_keys, strict=True))
    return session.client(
        "s3",
        endpoint_url=config.endpoint_for("s3"),
        region_name=config.region,
        config=BotoConfig(retries={"max_attempts": 2}, read_timeout=60),
        **keys,
    )


def fetch(config: Config, location: dict[str, Any]) -> bytes:
    """The object's bytes (blocking); S3's refusals become AWS's ``InvalidParameterValueException``."""
    bucket, key = location.get("S3Bucket"), location.get("S3Key")
    if not bucket or not key:
        raise InvalidParameterValue("Please provide both S3Bucket and S3Key to read the code from S3.")
    request = {"Bucket": bucket, "Key": key}
    if location.get("S3ObjectVersion"):
        request["VersionId"] = location["S3ObjectVersion"]
    try:
        reply = _client(config).get_object(**request)
        if reply.get("ContentLength", 0) > UNZIPPED_MAX:  # its unzipped size can only be larger
            raise InvalidParameterValue(f"Unzipped size must be smaller than {UNZIPPED_MAX} bytes")
        return reply["Body"].read()
    except ClientError as error:
        detail = error.response.get("Error", {})
        raise InvalidParameterValue(
            f"Error occurred while GetObject. S3 Error Code: {detail.get('Code', 'Unknown')}. "
            f"S3 Error Message: {detail.get('Message', '')}"
        ) from None
    except BotoCoreError as error:
        raise InvalidParameterValue(f"Error occurred while GetObject. {error}") from None


async def with_s3_code(config: Config, params: dict[str, Any], field: str | None) -> tuple[dict[str, Any], bool]:
    """``params`` with the S3 object in place of its location (``field`` names the structure holding it, or
    None when it sits at the top, as on UpdateFunctionCode), and whether the code came from S3."""
    location = (params.get(field) or {}) if field else params
    if not names_s3(location):
        return params, False
    data = await asyncio.to_thread(fetch, config, location)
    inline = {k: v for k, v in location.items() if not k.startswith("S3")} | {"ZipFile": data}
    return ({**params, field: inline} if field else inline), True
