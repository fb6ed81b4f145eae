"""``PackageType: Image`` functions: the API's rules for them, and the pull that makes an ``ImageUri`` an image.

The pull (``images.ImageStore``, blocking) runs on a worker thread before the function service records
anything: an image that cannot be found is refused (``InvalidParameterValueException``) and nothing changes;
one that is found but cannot run (over 10 GiB unpacked, an unsafe layer) makes a function that is ``Failed``
with Lambda's ``InvalidImage`` reason, as on AWS."""

from __future__ import annotations

import asyncio
from typing import Any

from ..errors import InvalidParameterValue
from ..images import Image, ImageFailed, ImageStore, SourceMissing
from ..models import FunctionVersion

Pulled = Image | ImageFailed
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


async def pull(store: ImageStore | None, uri: str, architectures: list[str] | None) -> Pulled:
    """The image, or why it cannot run; refused outright when it cannot be found."""
    if store is None:
        raise InvalidParameterValue(
            "Container images run in the namespaces sandbox only: start the server as root on Linux."
        )
    architecture = (architectures or ["x86_64"])[0]
    try:
        return await asyncio.to_thread(store.pull, uri, architecture)
    except SourceMissing as missing:
        raise InvalidParameterValue(
            f"Source image {uri} does not exist. Provide a valid source image. ({missing})"
        ) from None
    except ImageFailed as failed:
        return failed


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
