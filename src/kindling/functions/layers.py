"""Layers: publishing versions, their permissions, and the merged ``/opt`` tree a function sees.

Layer zips live in the code store beside function packages (same checks, same content
addressing). A function's layers, in order, are merged into one read-only tree per combination,
later layers overwriting earlier files as Lambda extracts them into ``/opt``; the tree is keyed by
the list of layer hashes, so functions sharing a combination share one tree, and it is built when
the configuration is saved, never on the invoke path.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..code import CodeStore
from ..code.archive import zip_bytes
from ..config import Config
from ..errors import (
    InvalidParameterValue,
    PreconditionFailed,
    RequestEntityTooLarge,
    ResourceConflict,
    ResourceNotFound,
)
from ..limits import UNZIPPED_MAX, ZIPPED_MAX
from ..models import FunctionVersion
from ..store.layers import LayerStore
from .timestamps import timestamp

MAX_LAYERS = 5
_VERSION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):layer:([a-zA-Z0-9_-]+):(\d+)$")
# AWS's Parameters and Secrets extension, by the ARNs AWS publishes it under: Kindling serves its interface
# itself (services/secrets_extension.py), so the layer brings no files
BUILT_IN = re.compile(
    r"arn:aws:lambda:[a-z0-9-]+:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension(-Arm64)?:\d+"
)
NOT_THERE = "The resource you requested does not exist."
NO_POLICY = "No policy is associated with the given resource."
_PRINCIPAL = re.compile(r"^(\d{12}|\*)$")


class LayerService:
    def __init__(self, config: Config, code: CodeStore, store: LayerStore) -> None:
        self.config = config
        self.code = code
        self.store = store
        self._versions: dict[tuple[str, int], dict[str, Any]] = {(r["name"], r["version"]): r for r in self.store.all()}
        self.merged = config.data_dir / "layers"
        self.merged.mkdir(mode=0o711, exist_ok=True)
        self._trees: dict[tuple[str, ...], Path] = {}

    # ------------------------------------------------------------------ names
    def layer_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.config.region}:{self.config.account_id}:layer:{name}"

    def _name(self, name_or_arn: str) -> str:
        return name_or_arn.rpartition(":layer:")[2] if name_or_arn.startswith("arn:") else name_or_arn

    def get(self, name_or_arn: str, version: int, missing: str = "") -> dict[str, Any]:
        """A layer version; what is missing is named in ``missing``'s words, or AWS's generic ones."""
        name = self._name(name_or_arn)
        _check_number(version)
        record = self._versions.get((name, int(version)))
        if record is None:
            raise ResourceNotFound(missing.format(arn=f"{self.layer_arn(name)}:{version}") or NOT_THERE)
        return record

    def _version(self, name_or_arn: str, version: int) -> dict[str, Any]:
        """The version a permission operation names (its absence is told by ARN, as AWS does)."""
        return self.get(name_or_arn, version, missing="Layer version {arn} does not exist.")

    def get_by_arn(self, arn: str) -> dict[str, Any]:
        match = _VERSION_ARN.match(arn)
        if not match or match[1] != self.config.region or match[2] != self.config.account_id:
            raise ResourceNotFound(NOT_THERE)
        return self.get(match[3], int(match[4]))

    # ------------------------------------------------------------------ versions
    def publish(self, params: dict[str, Any], from_s3: bool = False) -> dict[str, Any]:
        """A new version; ``from_s3`` when its zip was read from S3 (``code_source``), which lifts the upload limit."""
        name = self._name(params["LayerName"])
        content = params["Content"]
        if not content.get("ZipFile"):
            raise InvalidParameterValue("Uploaded file must be a non-empty zip")
        data = zip_bytes(content["ZipFile"])
        if not from_s3 and len(data) > ZIPPED_MAX:
            raise RequestEntityTooLarge(f"Zipped size must be smaller than {ZIPPED_MAX} bytes")
        ref = self.code.put(data)

        def build(version: int) -> dict[str, Any]:
            return {
                "name": name,
                "version": version,
                "description": params.get("Description", ""),
                "created": timestamp(),
                "compatible_runtimes": params.get("CompatibleRuntimes") or [],
                "compatible_architectures": params.get("CompatibleArchitectures") or [],
                "license_info": params.get("LicenseInfo"),
                "sha256_hex": ref.sha256_hex,
                "sha256": ref.sha256_b64,
                "size": ref.size,
                "unzipped_size": ref.unzipped_size,
                "statements": [],
                "revision_id": "",
            }

        record = self.store.next_version(name, build)
        self._versions[(name, record["version"])] = record
        return record

    def versions(self, name_or_arn: str | None, runtime: str | None, architecture: str | None) -> list[dict[str, Any]]:
        """Matching versions, each layer's newest first."""
        name = self._name(name_or_arn) if name_or_arn else None
        found = [
            r
            for (layer, _), r in self._versions.items()
            if (name is None or layer == name)
            and (not runtime or runtime in r["compatible_runtimes"])
            and (not architecture or architecture in r["compatible_architectures"])
        ]
        return sorted(found, key=lambda r: (r["name"], -r["version"]))

    def latest(self, runtime: str | None, architecture: str | None) -> list[dict[str, Any]]:
        """The newest matching version of every layer (ListLayers)."""
        newest: dict[str, dict[str, Any]] = {}
        for record in self.versions(None, runtime, architecture):
            newest.setdefault(record["name"], record)
        return [newest[name] for name in sorted(newest)]

    def delete(self, name_or_arn: str, version: int) -> None:
        """Functions that use the version keep working: their records hold its hash, the tree stays."""
        name = self._name(name_or_arn)
        _check_number(version)
        if self._versions.pop((name, int(version)), None) is not None:
            self.store.delete(name, int(version))

    # ------------------------------------------------------------------ permissions
    def add_permission(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._version(params["LayerName"], params["VersionNumber"])
        _check_revision(record, params.get("RevisionId"))
        sid = params["StatementId"]
        if any(s["Sid"] == sid for s in record["statements"]):
            raise ResourceConflict(
                f"The statement id ({sid}) provided already exists. "
                "Please provide a new statement id, or remove the existing statement."
            )
        if params["Action"] != "lambda:GetLayerVersion":
            raise InvalidParameterValue("Only lambda:GetLayerVersion is supported as the action of a layer policy.")
        principal = params["Principal"]
        if not _PRINCIPAL.match(principal):
            raise InvalidParameterValue("The provided principal was invalid. Please check the principal and try again.")
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
            "Action": "lambda:GetLayerVersion",
            "Resource": f"{self.layer_arn(record['name'])}:{record['version']}",
        }
        if params.get("OrganizationId"):
            statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": params["OrganizationId"]}}
        self._change_policy(record, [*record["statements"], statement])
        return statement

    def remove_permission(self, params: dict[str, Any]) -> None:
        record = self._version(params["LayerName"], params["VersionNumber"])
        if not record["statements"]:
            raise ResourceNotFound(NO_POLICY)
        _check_revision(record, params.get("RevisionId"))
        kept = [s for s in record["statements"] if s["Sid"] != params["StatementId"]]
        if len(kept) == len(record["statements"]):
            raise ResourceNotFound("Statement " + params["StatementId"] + " is not found in resource policy.")
        self._change_policy(record, kept)

    def policy(self, name_or_arn: str, version: int) -> dict[str, Any]:
        record = self._version(name_or_arn, version)
        if not record["statements"]:
            raise ResourceNotFound(NO_POLICY)
        document = {"Version": "2012-10-17", "Id": "default", "Statement": record["statements"]}
        return {"Policy": json.dumps(document), "RevisionId": record["revision_id"]}

    def _change_policy(self, record: dict[str, Any], statements: list[dict[str, Any]]) -> None:
        changed = {**record, "statements": statements, "revision_id": str(uuid.uuid4())}
        self.store.save(changed)
        record.update(changed)

    # ------------------------------------------------------------------ functions
    def resolve(self, arns: list[str], code_unzipped: int) -> tuple[dict[str, Any], ...]:
        """A function's ``Layers``, checked as Lambda checks them, as stored on its record."""
        if len(arns) > MAX_LAYERS:
            raise InvalidParameterValue(f"Cannot reference more than {MAX_LAYERS} layers.")
        chosen = []
        for arn in arns:
            if BUILT_IN.fullmatch(arn):
                chosen.append({"name": "AWS-Parameters-and-Secrets-Lambda-Extension", "size": 0, "sha256_hex": "",
                               "unzipped_size": 0})  # fmt: skip
                continue
            try:
                record = self.get_by_arn(arn)
            except ResourceNotFound:
                raise InvalidParameterValue(f"Layer version {arn} does not exist.") from None
            chosen.append(record)
        names = [r["name"] for r in chosen]
        if len(set(names)) != len(names):
            raise InvalidParameterValue(
                "Two different versions of the same layer are not allowed to be referenced in the same function. "
                "Please refer to a single version of the layer."
            )
        layers = tuple(
            {"Arn": arn, "CodeSize": r["size"], "sha256_hex": r["sha256_hex"], "unzipped_size": r["unzipped_size"]}
            for arn, r in zip(arns, chosen, strict=True)
        )
        check_size(code_unzipped, layers)
        return layers

    def opt_dir(self, record: FunctionVersion) -> Path | None:
        """The merged tree of a function's layers (built once per combination), or None without layers."""
        hashes = tuple(layer["sha256_hex"] for layer in record.layers if layer["sha256_hex"])
        if not hashes:
            return None
        tree = self._trees.get(hashes)
        if tree is None:
            tree = self._trees[hashes] = self._merge(hashes)
        return tree

    def _merge(self, hashes: tuple[str, ...]) -> Path:
        final = self.merged / _tree_name(hashes)
        if final.is_dir():
            return final
        work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.merged))
        try:
            for sha256_hex in hashes:
                _overlay(self.code.tree(sha256_hex), work)
            os.chmod(work, 0o755)
            os.rename(work, final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return final

    def hashes(self, records: Iterable[FunctionVersion]) -> set[str]:
        """Every layer zip still needed: published versions and those functions use (even deleted ones)."""
        used = {layer["sha256_hex"] for record in records for layer in record.layers}
        return used | {r["sha256_hex"] for r in self._versions.values()}

    def collect(self, records: Iterable[FunctionVersion]) -> None:
        """Remove merged trees no function uses (at start-up, when none can be mounted)."""
        keep = {_tree_name(tuple(layer["sha256_hex"] for layer in r.layers)) for r in records}
        for tree in self.merged.iterdir():
            if tree.name not in keep:
                shutil.rmtree(tree, ignore_errors=True)


def _tree_name(hashes: tuple[str, ...]) -> str:
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


def check_size(code_unzipped: int, layers: Iterable[dict[str, Any]]) -> None:
    total = code_unzipped + sum(layer["unzipped_size"] for layer in layers)
    if total > UNZIPPED_MAX:
        raise InvalidParameterValue(
            f"Function code combined with layers exceeds the maximum allowed size of {UNZIPPED_MAX} bytes. "
            f"The actual size is {total} bytes."
        )


def _overlay(source: Path, target: Path) -> None:
    """Copy ``source`` over ``target``: files of later layers replace earlier ones, whatever their kind."""
    for directory, dirs, files in os.walk(source):
        relative = Path(directory).relative_to(source)
        for entry in [*dirs, *files]:
            src, dst = Path(directory) / entry, target / relative / entry
            if entry in dirs and not src.is_symlink():
                if dst.is_symlink() or (dst.exists() and not dst.is_dir()):
                    dst.unlink()
                dst.mkdir(mode=0o755, exist_ok=True)
                continue
            if dst.is_dir() and not dst.is_symlink():
                shutil.rmtree(dst)
            elif dst.exists() or dst.is_symlink():
                dst.unlink()
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
            else:
                shutil.copy2(src, dst)
        dirs[:] = [d for d in dirs if not (Path(directory) / d).is_symlink()]


def _check_number(version: int) -> None:
    if int(version) < 1:
        raise InvalidParameterValue("Layer Version Cannot be less than 1")


def _check_revision(record: dict[str, Any], revision_id: str | None) -> None:
    if revision_id and revision_id != record["revision_id"]:
        raise PreconditionFailed("The Revision Id provided does not match the latest Revision Id.")
