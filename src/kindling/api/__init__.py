"""The boto3-facing HTTP API: an ASGI app routing botocore-modelled operations to services."""
