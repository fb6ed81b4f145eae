"""Reading a SAM template: YAML with CloudFormation's short forms, and its intrinsic functions resolved.

``!Ref`` and ``!Sub`` see Parameters (their Default), AWS pseudo parameters and the resources deployed so
far (``sam.py`` publishes layers before it reads the functions that use them); ``!GetAtt X.Arn`` gives a
function's ARN, and the attributes of the buckets, queues, topics, tables and streams ``sam_resources.py``
made. What kindling cannot honour is said once in a warning, never dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from .common import CliError, err

TEMPLATE_NAMES = ("template.yaml", "template.yml")
_SUB = re.compile(r"\$\{([^}!]+)\}")


class _Loader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's short forms: ``!Ref X`` reads as ``{"Ref": "X"}``, ``!Sub s`` as
    ``{"Fn::Sub": s}``."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _intrinsic)


def template_in(path: Path) -> Path | None:
    """The template ``kindling deploy PATH`` should read: PATH itself, or one in the folder PATH."""
    if path.is_file():
        return path
    return next((path / name for name in TEMPLATE_NAMES if (path / name).is_file()), None)


def warn(message: str) -> None:
    err.print(f"warning: {message}", markup=False)


def warn_unsupported(where: str, properties: Iterable[str], known: Iterable[str]) -> None:
    ignored = sorted(set(properties) - set(known))
    if ignored:
        warn(f"{where}: {', '.join(ignored)} not supported by kindling, ignored")


class Template:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        except (OSError, yaml.YAMLError) as error:
            raise CliError(f"cannot read {path}: {error}", "is it a SAM template (YAML or JSON)?") from None
        if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
            raise CliError(f"{path} has no Resources", "a SAM template lists its functions under Resources")
        self.document = document
        self.stack = re.sub(r"[^A-Za-z0-9-]+", "-", path.resolve().parent.name).strip("-") or "stack"
        self.values: dict[str, Any] = {
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "000000000000",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack,
        }
        self.attributes: dict[str, Any] = {}  # "Logical.Attribute" -> value, for !GetAtt
        for name, spec in (document.get("Parameters") or {}).items():
            if isinstance(spec, dict) and "Default" in spec:
                self.values[name] = spec["Default"]
        for part in sorted(set(document) - {"AWSTemplateFormatVersion", "Transform", "Description", "Parameters",
                                             "Globals", "Resources", "Metadata"}):  # fmt: skip
            warn(f"{part} not supported by kindling, ignored")

    def resources(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """The (logical id, unresolved Properties) of every resource of type ``kind``, in template order."""
        found = []
        for logical, resource in self.document["Resources"].items():
            if isinstance(resource, dict) and resource.get("Type") == kind:
                found.append((logical, resource.get("Properties") or {}))
        return found

    def globals(self, section: str) -> dict[str, Any]:
        return self.resolve((self.document.get("Globals") or {}).get(section) or {}, "Globals")

    def resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            return [self.resolve(item, where) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                if argument not in self.values:
                    raise CliError(f"{where}: !Ref {argument} has no value", "give the parameter a Default")
                return self.values[argument]
            if key == "Fn::Sub":
                return self._sub(argument, where)
            if key == "Fn::Join":
                delimiter, parts = argument
                return str(delimiter).join(str(part) for part in self.resolve(parts, where))
            if key == "Fn::GetAtt":
                attribute = ".".join(map(str, argument))
                if attribute not in self.attributes:
                    known = "kindling knows !GetAtt X.Arn of the functions, buckets, queues, topics, tables and streams"
                    raise CliError(f"{where}: !GetAtt {attribute} is not supported by kindling", known)
                return self.attributes[attribute]
            if key.startswith("Fn::"):
                raise CliError(f"{where}: {key} is not supported by kindling", "use a plain value or !Ref / !Sub")
        return {key: self.resolve(item, where) for key, item in value.items()}

    def _sub(self, argument: Any, where: str) -> str:
        text, extra = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        values = {**self.values, **self.attributes, **{key: self.resolve(item, where) for key, item in extra.items()}}

        def substitute(found: re.Match[str]) -> str:
            if found.group(1) not in values:
                raise CliError(f"{where}: ${{{found.group(1)}}} has no value", "give the parameter a Default")
            return str(values[found.group(1)])

        return _SUB.sub(substitute, text)

    def folder(self, logical: str, uri: Any, member: str) -> Path:
        """A CodeUri / ContentUri: a local folder relative to the template."""
        if not isinstance(uri, str):
            raise CliError(f"{logical}: only a local {member} folder is supported", f"set {member}: path/to/code")
        folder = (self.path.parent / uri).resolve()
        if not folder.is_dir():
            raise CliError(f"{logical}: {member} {folder} is not a folder", f"{member} is relative to the template")
        return folder
