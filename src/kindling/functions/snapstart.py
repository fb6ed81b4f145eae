"""SnapStart's rules: who may turn it on, what a published version's State says, when it may be invoked.

The work (the template, the restores) is the invoker's (``invoke/snapshots.py``); this module decides
what the API accepts and reports. Like AWS, SnapStart is opt-in per function (``ApplyOn``) and applies
to published versions only: ``$LATEST`` always starts on demand.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidParameterValue, ResourceConflict, SnapStartNotReady
from ..models import FunctionVersion

RUNTIMES = ("python3.12", "python3.13")
EPHEMERAL_MAX_MB = 512
CREATING = "The function is being created."


def apply_on(params: dict[str, Any], current: FunctionVersion | None, runtime: str, ephemeral_mb: int) -> str:
    """``SnapStart.ApplyOn`` after this request, refused where Lambda cannot snapshot the function."""
    requested = params.get("SnapStart")
    if requested is not None:
        value = requested.get("ApplyOn", "None")
    else:
        value = current.snap_start_apply_on if current else "None"
    if value != "PublishedVersions":
        return value
    if runtime not in RUNTIMES:
        raise InvalidParameterValue(
            f"SnapStart is not supported for the {runtime} runtime. "
            f"Supported runtimes for SnapStart: {', '.join(RUNTIMES)}."
        )
    if ephemeral_mb > EPHEMERAL_MAX_MB:
        raise InvalidParameterValue(
            f"SnapStart is not supported for functions with more than {EPHEMERAL_MAX_MB} MB of ephemeral storage."
        )
    return value


def published(record: FunctionVersion) -> FunctionVersion:
    """A new version: with ApplyOn set, Pending until its snapshot exists (OptimizationStatus On)."""
    if record.snap_start_apply_on != "PublishedVersions":
        return record
    return record.replace(
        snap_start_optimized=True,
        state="Pending",
        last_update_status="InProgress",
        state_reason=CREATING,
        state_reason_code="Creating",
    )


def settled(record: FunctionVersion, reason: str | None, code: str = "") -> FunctionVersion:
    """The version once its snapshot is made (``reason`` None) or could not be."""
    if reason is None:
        return record.replace(state="Active", last_update_status="Successful", state_reason="", state_reason_code="")
    return record.replace(state="Failed", last_update_status="Failed", state_reason=reason, state_reason_code=code)


def check_invocable(record: FunctionVersion) -> None:
    """Only an Active version runs: a Pending snapshot is not ready yet, a Failed one never will be."""
    if record.state == "Pending":
        raise SnapStartNotReady(
            "Lambda is initializing your function. You can invoke the function when the function state becomes Active."
        )
    if record.state == "Failed":
        raise ResourceConflict(
            "The operation cannot be performed at this time. The function is currently in the following state: "
            f"Failed. {record.state_reason}"
        )


def check_provisioned(record: FunctionVersion) -> None:
    if record.snap_start_optimized:
        raise InvalidParameterValue(
            "Provisioned Concurrency cannot be configured for a function version with SnapStart turned on."
        )
