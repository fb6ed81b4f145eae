"""``PackageType: Image`` functions: the API's rules for them, and the pull that makes an ``ImageUri`` an image.

As on AWS, an image that cannot be found is refused at once (``InvalidParameterValueException``, nothing
changes), after only its manifest was asked for; the pull itself (``images.ImageStore``, blocking) runs in
the background afterwards. Meanwhile a new function is ``Pending`` (``Creating``) and an updated one keeps
its image, ``LastUpdateStatus: InProgress``; then ``Active``/``Successful``, or ``Failed`` with Lambda's
reason (``InvalidImage``: over 10 GiB unpacked, an unsafe layer; ``ImageDeleted``: gone since the check).
The image being pulled is kept in the record (``image["Pull"]``), so a restart pulls it again."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import InvalidParameterValue, ResourceConflict
from ..images import Image, ImageFailed, ImageStore, SourceMissing
from ..models import FunctionVersion
from .snapstart import CREATING

Pulled = Image | ImageFailed
T = TypeVar("T")
PULL = "Pull"  # in a record's ``image``: the ImageUri being pulled, until it is settled
PUBLISH = "PublishWhenPulled"  # with PULL: the request said ``Publish``, done once the image is there
NOT_FOR_IMAGES = "Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image."


def is_image(params: dict[str, Any]) -> bool:
    return params.get("PackageType") == "Image"


def check_create(params: dict[str, Any]) -> None:
    """The members CreateFunction refuses for one package type or the other."""
    uri = (params.get("Code") or {}).get("ImageUri")
    if not is_image(params):
        if uri:
            raise InvalidParameterValue("Please don't provide ImageUri when the intended function PackageType is Zip.")
        if params.get("ImageConfig"):
            raise InvalidParameterValue(
                "Please don't provide ImageConfig when the intended function PackageType is Zip."
            )
        return
    if params.get("Runtime") or params.get("Handler") or params.get("Layers"):
        raise InvalidParameterValue(NOT_FOR_IMAGES)
    if not uri:
        raise InvalidParameterValue("Please provide ImageUri when the intended function PackageType is Image.")


def check_update(record: FunctionVersion, params: dict[str, Any]) -> None:
    """UpdateFunctionCode and UpdateFunctionConfiguration: what the function's package type does not take."""
    if record.package_type == "Image":
        if any(key in params for key in ("Runtime", "Handler", "Layers")):
            raise InvalidParameterValue(NOT_FOR_IMAGES)
        if "ZipFile" in params or "S3Bucket" in params:
            raise InvalidParameterValue("Please provide ImageUri when updating a function with packageType Image.")
    elif params.get("ImageConfig"):
        raise InvalidParameterValue("Please don't provide ImageConfig when the intended function PackageType is Zip.")


async def check_source(store: ImageStore | None, uri: str) -> None:
    """Refused when the image cannot be found; nothing is pulled yet."""
    if store is None:
        raise InvalidParameterValue(
            "Container images run in the namespaces sandbox only: start the server as root on Linux."
        )
    try:
        await asyncio.to_thread(store.check, uri)
    except SourceMissing as missing:
        raise InvalidParameterValue(
            f"Source image {uri} does not exist. Provide a valid source image. ({missing})"
        ) from None


async def pull(store: ImageStore, uri: str, architectures: tuple[str, ...]) -> Pulled:
    """The image, or why it cannot run (one gone since it was checked is Lambda's ``ImageDeleted``)."""
    architecture = (architectures or ("x86_64",))[0]
    try:
        return await _in_daemon_thread(store.pull, uri, architecture)
    except SourceMissing as missing:
        failed = ImageFailed(f"The image {uri} cannot be found any more: it was deleted ({missing}).")
        failed.code = "ImageDeleted"
        return failed
    except ImageFailed as failed:
        return failed


async def _in_daemon_thread(work: Callable[..., T], *args: Any) -> T:
    """``work`` on a thread of its own that a stopping server does not wait for (``asyncio.to_thread``'s are
    joined at exit): an interrupted pull leaves only ``.tmp-`` files, and the next start pulls again."""
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work(*args))
        except BaseException as error:  # handed to the awaiting task, as to_thread does
            future.set_exception(error)

    threading.Thread(target=run, name="image-pull", daemon=True).start()
    return await asyncio.wrap_future(future)


def _pull_of(uri: str, publish: bool) -> dict[str, Any]:
    return {PULL: uri, PUBLISH: True} if publish else {PULL: uri}


def pending(uri: str, image_config: dict[str, Any], publish: bool) -> dict[str, Any]:
    """A new image function's fields while its image is pulled: ``Pending``, as on AWS."""
    return {
        "code_sha256_hex": "",
        "code_sha256": "",
        "image": {"ImageUri": uri, "ImageConfig": image_config, **_pull_of(uri, publish)},
        "state": "Pending",
        "last_update_status": "InProgress",
        "state_reason": CREATING,
        "state_reason_code": "Creating",
    }


def updating(record: FunctionVersion, uri: str, publish: bool) -> FunctionVersion:
    """UpdateFunctionCode's image: pulled in the background, the image before keeps serving meanwhile."""
    return record.replace(
        image={**record.image, **_pull_of(uri, publish)},
        last_update_status="InProgress",
        update_reason=CREATING,
        update_reason_code="Creating",
    )


def settled(record: FunctionVersion, pulled: Pulled) -> FunctionVersion:
    """The record once its pull is over: a ``Pending`` function becomes Active or Failed; an update
    Successful (the new image runs) or Failed (the image before still does)."""
    uri = record.image[PULL]
    image_config = record.image.get("ImageConfig") or {}
    if record.state == "Pending":
        return record.replace(**record_fields(uri, pulled, image_config), update_reason="", update_reason_code="")
    if isinstance(pulled, ImageFailed):
        kept = {key: value for key, value in record.image.items() if key not in (PULL, PUBLISH)}
        return record.replace(
            image=kept, last_update_status="Failed", update_reason=pulled.reason, update_reason_code=pulled.code
        )
    return record.replace(**record_fields(uri, pulled, image_config), update_reason="", update_reason_code="")


def check_invocable(record: FunctionVersion) -> None:
    """A function whose image is not there yet does not run (an update's pull leaves the old image running)."""
    if record.package_type == "Image" and record.state == "Pending":
        raise ResourceConflict(
            "The operation cannot be performed at this time. The function is currently in the following state: Pending"
        )


def check_settled(record: FunctionVersion) -> None:
    """What changes a function waits until its image is pulled (AWS's answers while Pending or InProgress)."""
    check_invocable(record)
    if PULL in record.image:
        raise ResourceConflict(
            f"The operation cannot be performed at this time. An update is in progress for resource: {record.arn}"
        )


def record_fields(uri: str, pulled: Pulled, image_config: dict[str, Any]) -> dict[str, Any]:
    """A version's fields for its image: the digest stands for the code (AWS's CodeSha256 of an image)."""
    image: dict[str, Any] = {"ImageUri": uri, "ImageConfig": image_config}
    if isinstance(pulled, ImageFailed):
        failed = {"state": "Failed", "last_update_status": "Failed", "state_reason_code": pulled.code}
        return {"code_sha256_hex": "", "code_sha256": "", "image": image, "state_reason": pulled.reason, **failed}
    image.update(
        ResolvedImageUri=pulled.resolved_uri,
        EntryPoint=list(pulled.entrypoint),
        Cmd=list(pulled.cmd),
        Env=list(pulled.env),
        WorkingDir=pulled.workdir,
    )
    hex_digest = pulled.digest.split(":")[-1]
    return {
        "code_sha256_hex": hex_digest,
        "code_sha256": hex_digest,
        "code_size": 0,
        "unzipped_size": pulled.size,
        "image": image,
        "state": "Active",
        "last_update_status": "Successful",
        "state_reason": "",
        "state_reason_code": "",
    }


def with_image_config(record: FunctionVersion, image_config: dict[str, Any] | None) -> FunctionVersion:
    """UpdateFunctionConfiguration's ``ImageConfig``: it replaces the one before, as a whole."""
    if image_config is None or record.package_type != "Image":
        return record
    return record.replace(image={**record.image, "ImageConfig": dict(image_config)})


def image_code(record: FunctionVersion) -> dict[str, Any]:
    """GetFunction's ``Code`` for an image function (Kindling's registry stands in for ECR)."""
    code = {"RepositoryType": "ECR", "ImageUri": record.image.get("ImageUri", "")}
    if record.image.get("ResolvedImageUri"):
        code["ResolvedImageUri"] = record.image["ResolvedImageUri"]
    return code
