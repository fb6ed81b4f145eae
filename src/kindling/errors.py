"""The one error hierarchy. Services raise these; only ``api/errors.py`` turns them into HTTP, in the
protocol of the API that answers (Lambda's REST JSON, or the JSON protocol of Logs and the rest).

Each class carries the AWS error code, the HTTP status and the key its message uses in the
JSON body (the model spells it ``Message`` for some shapes and ``message`` for others).
``function_error`` is the other error shape: what a failed invocation returns as its payload.
"""

from __future__ import annotations

import json


class AwsError(Exception):
    code = "ServiceException"
    status = 500
    message_key = "Message"
    fault = "Service"

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class ServiceFault(AwsError):
    """An error of an API whose codes are many and plain (CloudWatch Logs…): code and status given."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.fault = "Service" if status >= 500 else "User"


class LambdaError(AwsError):
    """An error of the Lambda API, one class per code its model names."""


class UserError(LambdaError):
    fault = "User"
    status = 400
    message_key = "message"


class ResourceNotFound(UserError):
    code = "ResourceNotFoundException"
    status = 404
    message_key = "Message"


class ResourceConflict(UserError):
    code = "ResourceConflictException"
    status = 409


class InvalidParameterValue(UserError):
    code = "InvalidParameterValueException"


class ValidationError(UserError):
    code = "ValidationException"


class InvalidRequestContent(UserError):
    code = "InvalidRequestContentException"


class RequestTooLarge(UserError):
    code = "RequestTooLargeException"
    status = 413


class RequestEntityTooLarge(UserError):
    """What AWS really sends for oversized bodies (not in the model)."""

    code = "RequestEntityTooLargeException"
    status = 413


class PreconditionFailed(UserError):
    code = "PreconditionFailedException"
    status = 412


class TooManyRequests(UserError):
    code = "TooManyRequestsException"
    status = 429

    def __init__(self, message: str = "Rate Exceeded.", reason: str = "", retry_after: int = 1) -> None:
        super().__init__(message, Reason=reason)
        self.retry_after = retry_after


class NotImplementedOperation(UserError):
    code = "NotImplementedException"
    status = 501


class ServiceError(LambdaError):
    code = "ServiceException"
    status = 500


class UnknownOperation(UserError):
    code = "UnknownOperationException"
    status = 404


class SnapStartTimeout(LambdaError):
    """The after-restore hooks of a SnapStart environment ran past their 10 s."""

    code = "SnapStartTimeoutException"
    status = 408
    fault = "Service"
    message_key = "Message"


class SnapStartNotReady(UserError):
    """Invoke of a SnapStart version whose snapshot is still being made."""

    code = "SnapStartNotReadyException"
    status = 409
    message_key = "Message"


def function_error(error_type: str, message: str, **more: object) -> bytes:
    """The payload of a failed invocation, in Lambda's shape (``errorMessage`` first, as the runtimes write it)."""
    return json.dumps({"errorMessage": message, "errorType": error_type, **more}).encode()


class AccessDenied(UserError):
    """An authenticated caller that no policy allows (IAM's evaluation said no)."""

    code = "AccessDeniedException"
    status = 403
    message_key = "Message"
