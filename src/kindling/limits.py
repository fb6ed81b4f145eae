"""Lambda's service limits, as numbers, in one place. The checks that apply them live with their owners
(``functions/limits.py`` for configurations, ``api/routes/invoke.py`` for payloads, ``invoke/`` for responses)."""

from __future__ import annotations

# payloads (bytes)
SYNC_PAYLOAD_MAX = 6_291_456  # a synchronous request, and a function URL's or route table's body
RESPONSE_MAX = 6_291_556  # a synchronous response (AWS allows 100 bytes over the request limit)
ASYNC_PAYLOAD_MAX = 1_048_576  # an Event invoke
LEGACY_ASYNC_PAYLOAD_MAX = 262_144  # InvokeAsync
STREAM_MAX = 200 * 1024 * 1024  # a streamed response
API_BODY_MAX = 70_167_211 + 65_536  # CreateFunction's limit plus room for the JSON around the zip

# a function's configuration
MEMORY_MIN, MEMORY_MAX = 128, 10_240  # MB
TIMEOUT_MIN, TIMEOUT_MAX = 1, 900  # seconds
EPHEMERAL_MIN, EPHEMERAL_MAX = 512, 10_240  # MB of /tmp
ENV_MAX_BYTES = 4096  # all environment variables together
ZIPPED_MAX = 52_428_800  # a zip uploaded directly
UNZIPPED_MAX = 262_144_000  # a function's code and layers, unzipped
IMAGE_MAX = 10_737_418_240  # a container image, uncompressed (10 GiB)
