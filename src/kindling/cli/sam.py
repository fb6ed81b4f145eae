"""``kindling deploy template.yaml``: the functions of an AWS SAM template, and their schedules.

Read: ``Globals.Function`` and, per ``AWS::Serverless::Function``, FunctionName, CodeUri (a local
folder), Handler, Runtime, MemorySize, Timeout and Environment.Variables; events of type ``Schedule``
and ``ScheduleV2`` become Kindling schedules. Parameters take their Default; ``!Ref``, ``!Sub`` and
``!Join`` of parameters and AWS pseudo parameters are resolved. Everything else (other resource and
event types) is named in a warning and skipped: a template written for AWS still deploys its functions.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .common import Clients, CliError, err, out
from .deploy import Outcome, Settings, deploy_directory
from .schedules import Schedule, put_schedule

TEMPLATE_NAMES = ("template.yaml", "template.yml")
FUNCTION = "AWS::Serverless::Function"
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
        self.values: dict[str, Any] = {
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "000000000000",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": path.resolve().parent.name,
        }
        for name, spec in (document.get("Parameters") or {}).items():
            if isinstance(spec, dict) and "Default" in spec:
                self.values[name] = spec["Default"]

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
            if key.startswith("Fn::"):
                raise CliError(f"{where}: {key} is not supported by kindling", "use a plain value or !Ref / !Sub")
        return {key: self.resolve(item, where) for key, item in value.items()}

    def _sub(self, argument: Any, where: str) -> str:
        text, extra = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        values = {**self.values, **{key: self.resolve(item, where) for key, item in extra.items()}}

        def substitute(found: re.Match[str]) -> str:
            if found.group(1) not in values:
                raise CliError(f"{where}: ${{{found.group(1)}}} has no value", "give the parameter a Default")
            return str(values[found.group(1)])

        return _SUB.sub(substitute, text)

    def functions(self) -> list[tuple[Path, Settings, list[Schedule]]]:
        defaults = self.resolve(((self.document.get("Globals") or {}).get("Function") or {}), "Globals")
        found = []
        for logical, resource in self.document["Resources"].items():
            kind = resource.get("Type") if isinstance(resource, dict) else None
            if kind != FUNCTION:
                err.print(f"warning: {logical} ({kind}) skipped: kindling deploys {FUNCTION} only", markup=False)
                continue
            properties = {**defaults, **self.resolve(resource.get("Properties") or {}, logical)}
            if "InlineCode" in properties or not isinstance(properties.get("CodeUri", "."), str):
                raise CliError(f"{logical}: only a local CodeUri folder is supported", "set CodeUri: path/to/code")
            name = str(properties.get("FunctionName") or logical)
            variables = {**(defaults.get("Environment") or {}).get("Variables", {}),
                         **(properties.get("Environment") or {}).get("Variables", {})}  # fmt: skip
            settings = Settings(
                name=name,
                runtime=properties.get("Runtime"),
                handler=properties.get("Handler"),
                memory=properties.get("MemorySize"),
                timeout=properties.get("Timeout"),
                env={key: str(value) for key, value in variables.items()},
            )
            code = (self.path.parent / properties.get("CodeUri", ".")).resolve()
            if not code.is_dir():
                raise CliError(f"{logical}: CodeUri {code} is not a folder", "CodeUri is relative to the template")
            found.append((code, settings, self._schedules(logical, name, properties.get("Events") or {})))
        return found

    @staticmethod
    def _schedules(logical: str, function: str, events: dict[str, Any]) -> list[Schedule]:
        schedules = []
        for event, spec in events.items():
            kind, properties = spec.get("Type"), spec.get("Properties") or {}
            if kind == "Schedule":
                expression, enabled = properties.get("Schedule"), properties.get("Enabled", True)
            elif kind == "ScheduleV2":
                expression = properties.get("ScheduleExpression")
                enabled = properties.get("State", "ENABLED") == "ENABLED"
            else:
                err.print(f"warning: event {event} of {logical} ({kind}) skipped: not supported yet", markup=False)
                continue
            name = str(properties.get("Name") or f"{function}-{event}")[:64]
            schedules.append(Schedule(name, function, str(expression), bool(enabled), properties.get("Input")))
        return schedules


def deploy_template(clients: Clients, path: Path) -> list[tuple[Path, Outcome]]:
    """Every function of the template (with its schedules); the folder and outcome of each."""
    functions = Template(path).functions()
    if not functions:
        raise CliError(f"{path} defines no {FUNCTION}", "add one under Resources")
    deployed = []
    for code, settings, schedules in functions:
        outcome = deploy_directory(clients, code, settings)
        out.print(outcome.summary(), markup=False)
        deployed.append((code, outcome))
        for schedule in schedules:
            put_schedule(clients, schedule)
            state = "" if schedule.enabled else " (disabled)"
            out.print(f"schedule {schedule.name}: {schedule.expression} → {schedule.function}{state}", markup=False)
    return deployed
