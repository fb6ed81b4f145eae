"""``kindling deploy template.yaml``: an AWS SAM template's functions, layers, URLs, routes and schedules.

Deployed in dependency order: layers first (a folder's deterministic zip is published only when it
differs from the newest version), then every function (so ``!Ref Layer`` is a layer version ARN and
``!GetAtt Fn.Arn`` an ARN), its ``AutoPublishAlias`` and ``FunctionUrlConfig``, then the ``Api`` /
``HttpApi`` events as Kindling route tables and the ``Schedule`` / ``ScheduleV2`` events as schedules.
The template's buckets, queues, topics, tables and streams are made first (``sam_resources.py``), and
the functions' S3, SNS, SQS, DynamoDB, Kinesis and EventBridge events connected last (``sam_sources.py``).
Each step compares with what the server has first, so deploying an unchanged template changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import WaiterError

from .common import Clients, CliError, out
from .functions_deploy import Deployment, Settings, deploy_directory
from .package import build_zip
from .sam_events import Route, events, sync_apis, sync_schedule
from .sam_resources import RESOURCE_TYPES, create_resources
from .sam_sources import SourceEvent, has_statement, sync_sources
from .schedules import Schedule
from .template import Template, template_in, warn, warn_unsupported

__all__ = ["deploy_template", "template_in"]
FUNCTION = "AWS::Serverless::Function"
LAYER = "AWS::Serverless::LayerVersion"
FUNCTION_PROPERTIES = {"FunctionName", "CodeUri", "Handler", "Runtime", "MemorySize", "Timeout", "Environment",
                       "Events", "Layers", "AutoPublishAlias", "FunctionUrlConfig", "LoggingConfig",
                       "SnapStart", "VpcConfig"}  # fmt: skip
LAYER_PROPERTIES = {"LayerName", "ContentUri", "CompatibleRuntimes", "Description"}
PUBLIC_URL_SID = "FunctionURLAllowPublicAccess"  # the statement SAM adds for AuthType NONE


@dataclass
class FunctionSpec:
    logical: str
    code: Path
    settings: Settings
    alias: str | None
    url: dict[str, Any] | None
    routes: list[Route] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    sources: list[SourceEvent] = field(default_factory=list)


def _layer(clients: Clients, template: Template, logical: str, raw: dict[str, Any]) -> tuple[str, bool]:
    """The ARN of the layer version matching the folder, published if the newest one differs."""
    lam = clients.lam
    properties = template.resolve(raw, logical)
    warn_unsupported(logical, properties, LAYER_PROPERTIES)
    name = str(properties.get("LayerName") or logical)
    built = build_zip([template.folder(logical, properties.get("ContentUri"), "ContentUri")])
    wanted = {"Description": str(properties.get("Description", "")),
              "CompatibleRuntimes": list(properties.get("CompatibleRuntimes") or [])}  # fmt: skip
    newest = lam.list_layer_versions(LayerName=name, MaxItems=1).get("LayerVersions")
    if newest:
        current = lam.get_layer_version(LayerName=name, VersionNumber=newest[0]["Version"])
        same = {key: current.get(key, [] if key == "CompatibleRuntimes" else "") for key in wanted} == wanted
        if same and current["Content"]["CodeSha256"] == built.sha256:
            return current["LayerVersionArn"], False
    published = lam.publish_layer_version(LayerName=name, Content={"ZipFile": built.zip_bytes}, **wanted)
    return published["LayerVersionArn"], True


def _functions(template: Template) -> list[FunctionSpec]:
    defaults = template.globals("Function")
    warn_unsupported("Globals.Function", defaults, FUNCTION_PROPERTIES)
    found = []
    for logical, raw in template.resources(FUNCTION):
        properties = {**defaults, **template.resolve(raw, logical)}
        warn_unsupported(logical, raw, FUNCTION_PROPERTIES)
        if "InlineCode" in properties:
            raise CliError(f"{logical}: only a local CodeUri folder is supported", "set CodeUri: path/to/code")
        name = template.values[logical]
        variables = {**(defaults.get("Environment") or {}).get("Variables", {}),
                     **(properties.get("Environment") or {}).get("Variables", {})}  # fmt: skip
        layers = [*defaults.get("Layers", []), *template.resolve(raw.get("Layers") or [], logical)]
        settings = Settings(
            name=name,
            runtime=properties.get("Runtime"),
            handler=properties.get("Handler"),
            memory=properties.get("MemorySize"),
            timeout=properties.get("Timeout"),
            env={key: str(value) for key, value in variables.items()},
            layers=[str(arn) for arn in layers],
            logging=properties.get("LoggingConfig"),
            snap_start=(properties.get("SnapStart") or {}).get("ApplyOn"),
            vpc=properties.get("VpcConfig"),
        )
        code = template.folder(logical, properties.get("CodeUri", "."), "CodeUri")
        alias = properties.get("AutoPublishAlias")
        spec = FunctionSpec(logical, code, settings, str(alias) if alias else None, properties.get("FunctionUrlConfig"))
        target = f"{name}:{spec.alias}" if spec.alias else name
        spec.routes, spec.schedules, spec.sources = events(logical, target, properties.get("Events") or {})
        found.append(spec)
    return found


def _publish_alias(clients: Clients, name: str, alias: str) -> str | None:
    """Points ``alias`` at a version of the current code (PublishVersion returns the last version when
    ``$LATEST`` is unchanged); what changed, if anything."""
    lam = clients.lam
    published = lam.publish_version(FunctionName=name)
    version = published["Version"]
    if published.get("State") == "Pending":  # a SnapStart version: its snapshot is being made
        try:
            lam.get_waiter("published_version_active").wait(
                FunctionName=name, Qualifier=version, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
            )
        except WaiterError:
            state = lam.get_function_configuration(FunctionName=name, Qualifier=version)
            raise CliError(
                f"{name} version {version}: {state.get('StateReason') or state.get('State')}",
                "its init code or a before-snapshot hook failed: fix it and deploy again",
            ) from None
    try:
        current = lam.get_alias(FunctionName=name, Name=alias)["FunctionVersion"]
    except lam.exceptions.ResourceNotFoundException:
        lam.create_alias(FunctionName=name, Name=alias, FunctionVersion=version)
        return f"alias {alias} → version {version}"
    if current == version:
        return None
    lam.update_alias(FunctionName=name, Name=alias, FunctionVersion=version)
    return f"alias {alias} version {current} → {version}"


def _function_url(clients: Clients, name: str, qualifier: str | None, config: dict[str, Any]) -> str | None:
    """Creates or updates the function's URL to match ``config``, with the public permission AuthType NONE
    needs; what changed, if anything."""
    lam = clients.lam
    where = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
    wanted = {"AuthType": config.get("AuthType", "AWS_IAM"), "Cors": config.get("Cors") or {},
              "InvokeMode": config.get("InvokeMode", "BUFFERED")}  # fmt: skip
    warn_unsupported(f"{name} FunctionUrlConfig", config, wanted)
    try:
        current = lam.get_function_url_config(**where)
    except lam.exceptions.ResourceNotFoundException:
        current = None
    change = None
    if current is None:
        url = lam.create_function_url_config(**where, **wanted)["FunctionUrl"]
        change = f"url {url} ({wanted['AuthType']})"
    elif {key: current.get(key) or {} if key == "Cors" else current.get(key) for key in wanted} != wanted:
        url = lam.update_function_url_config(**where, **wanted)["FunctionUrl"]
        change = f"url {url} updated"
    public = wanted["AuthType"] == "NONE"
    if public != has_statement(clients, where, PUBLIC_URL_SID):
        if public:
            lam.add_permission(**where, StatementId=PUBLIC_URL_SID, Action="lambda:InvokeFunctionUrl",
                               Principal="*", FunctionUrlAuthType="NONE")  # fmt: skip
        else:
            lam.remove_permission(**where, StatementId=PUBLIC_URL_SID)
        change = change or f"url {'made public' if public else 'no longer public'}"
    return change


def deploy_template(clients: Clients, path: Path) -> list[tuple[Path, Deployment]]:
    """Everything the template defines; the folder and deployment of each function (for ``dev``)."""
    template = Template(path)
    supported = {FUNCTION, LAYER, *RESOURCE_TYPES}
    for logical, resource in template.document["Resources"].items():
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if kind not in supported:
            warn(f"{logical} ({kind}) skipped: kindling does not deploy this type")
    if not template.resources(FUNCTION):
        raise CliError(f"{path} defines no {FUNCTION}", "add one under Resources")
    changed = create_resources(clients, template)
    for logical, raw in template.resources(LAYER):
        arn, published = _layer(clients, template, logical, raw)
        template.values[logical] = arn
        changed += published
        out.print(f"{'published' if published else 'up to date:'} layer {arn.split(':layer:')[1]}", markup=False)
    for logical, raw in template.resources(FUNCTION):
        name = str(template.resolve(raw.get("FunctionName") or logical, logical))
        template.values[logical] = name
        template.attributes[f"{logical}.Arn"] = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    deployed, routes, sources = [], [], []
    for spec in _functions(template):
        deployment = deploy_directory(clients, spec.code, spec.settings)
        if spec.alias:
            deployment.changes += filter(None, [_publish_alias(clients, deployment.name, spec.alias)])
        if spec.url is not None:
            deployment.changes += filter(None, [_function_url(clients, deployment.name, spec.alias, spec.url)])
        out.print(deployment.summary(), markup=False)
        changed += bool(deployment.changes)
        deployed.append((spec.code, deployment))
        routes += spec.routes
        sources += spec.sources
        for schedule in spec.schedules:
            changed += sync_schedule(clients, schedule)
    changed += sync_apis(clients, template.stack, routes)
    changed += sync_sources(clients, template.stack, sources)
    summary = f"{changed} resource{'s' if changed > 1 else ''} changed" if changed else "nothing changed"
    out.print(f"{path.name}: {summary}", markup=False)
    return deployed
