"""Container image functions end to end: images written here, pushed to a real local registry
(``docker-registry``), created, invoked, updated, refused and deleted through the Lambda API."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions
import pytest
from botocore.exceptions import ClientError
from oci_images import (
    GO_EXTENSION,
    HeldFront,
    Registry,
    TokenGate,
    docker_archive,
    go_binary,
    layer,
    oci_archive,
    python_layer,
    registry,
)

from support import ROLE, Server, running

GO_CONFIG = {
    "Entrypoint": ["/usr/local/bin/handler"],
    "Cmd": ["from-cmd"],
    "Env": ["GREETING=hello from the image", "PATH=/usr/local/bin:/usr/bin"],
    "WorkingDir": "/srv",
}
# what the layers below leave for the whiteouts above to hide
BASE_FILES = {"etc/old.txt": b"old", "etc/kept.txt": b"kept", "data/keep/a": b"a", "data/gone/b": b"b", "srv": None}
WHITEOUTS = {"etc/.wh.old.txt": b"", "data/gone/.wh..wh..opq": b"", "data/gone/c": b"c"}
APP = """import os

def handler(event, context):
    return {"python": True, "event": event, "function": context.function_name, "cwd": os.getcwd(), "uid": os.getuid()}
"""


class Images:
    def __init__(self, registry: Registry, work: Path) -> None:
        self.registry = registry
        self.host = registry.host
        self.work = work
        self.go = {version: go_binary(work, version) for version in ("v1", "v2")}
        self.base = layer(BASE_FILES)
        self.whiteouts = layer(WHITEOUTS)

    def go_layers(self, version: str) -> list[bytes]:
        binary = layer({"usr/local/bin/handler": self.go[version]}, {"usr/local/bin/handler": 0o755})
        return [self.base, binary, self.whiteouts]

    def push_go(self, repository: str, version: str, tag: str | None = None) -> str:
        return self.registry.push(repository, tag or version, self.go_layers(version), GO_CONFIG)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    root = tmp_path_factory.mktemp("registry")
    with registry(root) as running:
        yield Images(running, tmp_path_factory.mktemp("images"))


@pytest.fixture
def image_function(lam) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Names to delete after the test."""
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(ClientError):
            lam.delete_function(FunctionName=name)


def settle(lam, name: str) -> dict:  # type: ignore[no-untyped-def]
    """The function's configuration once its image is pulled (Active or Failed)."""
    deadline = time.monotonic() + 120
    while True:
        config = lam.get_function_configuration(FunctionName=name)
        if config["LastUpdateStatus"] != "InProgress" or time.monotonic() > deadline:
            return config
        time.sleep(0.05)


def create(lam, names: list[str], uri: str, **settings: object) -> str:  # type: ignore[no-untyped-def]
    name = f"img-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Role=ROLE, PackageType="Image", Code={"ImageUri": uri}, **settings)
    names.append(name)
    settle(lam, name)
    return name


def invoke(lam, name: str, event: dict | None = None) -> dict:  # type: ignore[no-untyped-def]
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(event or {"hello": "image"}))
    body = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, body
    return body


def test_a_go_image_runs_confined_in_its_own_root(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    digest = images.push_go("go-fn", "v1")
    name = create(lam, image_function, f"{images.host}/go-fn:v1")
    body = invoke(lam, name)
    assert body["version"] == "v1" and body["event"] == {"hello": "image"} and body["function"] == name
    assert body["cwd"] == "/srv" and body["args"] == ["from-cmd"] and body["greeting"] == "hello from the image"
    assert body["uid"] != 0 and body["tmp_writable"] and not body["root_writable"] and not body["host_visible"]
    # whiteouts: a file removed, a directory made opaque (what was below hidden, what the layer adds kept)
    assert body["files"] == {
        "/etc/old.txt": False,
        "/etc/kept.txt": True,
        "/data/keep/a": True,
        "/data/gone/b": False,
        "/data/gone/c": True,
        "/tmp/extension-started": False,
    }
    function = lam.get_function(FunctionName=name)
    assert function["Code"] == {
        "RepositoryType": "ECR",
        "ImageUri": f"{images.host}/go-fn:v1",
        "ResolvedImageUri": f"{images.host}/go-fn@{digest}",
    }
    config = function["Configuration"]
    assert config["PackageType"] == "Image" and config["State"] == "Active"
    assert "Runtime" not in config and "Handler" not in config
    assert config["CodeSha256"] == digest.removeprefix("sha256:")


def test_image_config_and_environment_override_the_image(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    images.push_go("go-fn", "v1")
    override = {"EntryPoint": ["handler"], "Command": ["one", "two"], "WorkingDirectory": "/tmp"}
    name = create(lam, image_function, f"{images.host}/go-fn:v1", ImageConfig=override)
    body = invoke(lam, name)
    assert body["args"] == ["one", "two"] and body["cwd"] == "/tmp"  # a bare entrypoint is found on the image's PATH
    lam.update_function_configuration(
        FunctionName=name, ImageConfig={"Command": ["three"]}, Environment={"Variables": {"GREETING": "mine"}}
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    body = invoke(lam, name)
    assert body["args"] == ["three"] and body["cwd"] == "/srv" and body["greeting"] == "mine"
    config = lam.get_function_configuration(FunctionName=name)
    assert config["ImageConfigResponse"] == {"ImageConfig": {"Command": ["three"]}}


def test_update_function_code_switches_to_the_new_digest(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    first = images.push_go("go-moving", "v1", tag="stable")
    name = create(lam, image_function, f"{images.host}/go-moving:stable")
    assert invoke(lam, name)["version"] == "v1"
    published = lam.publish_version(FunctionName=name)["Version"]
    second = images.push_go("go-moving", "v2", tag="stable")  # the tag moves to a new digest
    assert second != first
    updated = lam.update_function_code(FunctionName=name, ImageUri=f"{images.host}/go-moving:stable")
    assert updated["LastUpdateStatus"] == "InProgress"
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] == second.removeprefix("sha256:")
    assert invoke(lam, name)["version"] == "v2"
    reply = lam.invoke(FunctionName=name, Qualifier=published, Payload=b"{}")  # a version keeps its digest
    assert json.loads(reply["Payload"].read())["version"] == "v1"
    code = lam.get_function(FunctionName=name)["Code"]
    assert code["ResolvedImageUri"] == f"{images.host}/go-moving@{second}"
    # pinned by digest: back to the first image
    lam.update_function_code(FunctionName=name, ImageUri=f"{images.host}/go-moving@{first}")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert invoke(lam, name)["version"] == "v1"
    lam.delete_function(FunctionName=name)
    with pytest.raises(ClientError) as gone:
        lam.get_function(FunctionName=name)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_layers_are_unpacked_once_and_shared(lam, server: Server, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    images.push_go("go-shared-a", "v1")
    images.push_go("go-shared-b", "v2")
    create(lam, image_function, f"{images.host}/go-shared-a:v1")
    create(lam, image_function, f"{images.host}/go-shared-b:v2")
    layers = server.data_dir / "images" / "layers"
    base_hex = hashlib.sha256(images.base).hexdigest()
    assert (layers / base_hex).is_dir()
    assert len([p for p in layers.iterdir() if p.name.startswith(base_hex)]) == 2  # the tree and its size, once


def test_an_awslambdaric_image_made_of_the_hosts_python(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    app = layer({"var/task/app.py": APP.encode()})
    config = {
        "Entrypoint": ["/usr/bin/python3.11", "-m", "awslambdaric"],
        "Cmd": ["app.handler"],
        "Env": ["PYTHONPATH=/var/runtime", "PATH=/usr/bin"],
        "WorkingDir": "/var/task",
    }
    images.registry.push("python-ric", "3.11", [python_layer(), app], config)
    name = create(lam, image_function, f"{images.host}/python-ric:3.11", Timeout=30)
    body = invoke(lam, name, {"n": 1})
    assert body == {"python": True, "event": {"n": 1}, "function": name, "cwd": "/var/task", "uid": body["uid"]}
    assert body["uid"] != 0


def test_an_oci_archive_on_the_servers_disk(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    archive = images.work / "go.oci.tar"
    digest = oci_archive(archive, "v2", images.go_layers("v2"), GO_CONFIG)
    name = create(lam, image_function, f"oci-archive:{archive}:v2")
    assert invoke(lam, name)["version"] == "v2"
    assert lam.get_function(FunctionName=name)["Code"]["ResolvedImageUri"] == f"oci-archive:{archive}@{digest}"


def _failed(lam, name: str) -> dict:  # type: ignore[no-untyped-def]
    config = lam.get_function_configuration(FunctionName=name)
    assert config["State"] == "Failed" and config["StateReasonCode"] == "InvalidImage"
    with pytest.raises(ClientError) as refused:
        lam.invoke(FunctionName=name, Payload=b"{}")
    assert refused.value.response["Error"]["Code"] == "ResourceConflictException"
    return config


def test_an_image_over_10_gib_fails_as_on_aws(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    layers = images.go_layers("v1")
    images.registry.push("huge", "latest", layers, GO_CONFIG, claimed_sizes=[6 << 30, 6 << 30, 1 << 10])
    name = create(lam, image_function, f"{images.host}/huge:latest")
    config = _failed(lam, name)
    assert config["StateReason"] == "SizeLimitExceeded: Uncompressed container image size exceeds 10 GiB limit"


def test_layers_that_leave_the_root_are_refused(lam, server: Server, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    images.registry.push("escape", "dots", [layer({"../../escape.txt": b"out"})], GO_CONFIG)
    name = create(lam, image_function, f"{images.host}/escape:dots")
    assert "leaves the image's root" in _failed(lam, name)["StateReason"]
    images.registry.push("escape", "link", [layer({"x": "->/", "x/escape.txt": b"out"})], GO_CONFIG)
    name = create(lam, image_function, f"{images.host}/escape:link")
    assert "goes through a link" in _failed(lam, name)["StateReason"]
    assert not list(server.data_dir.parent.rglob("escape.txt")) and not Path("/escape.txt").exists()


def test_absolute_links_in_the_image_stay_inside_it(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Links the sandbox mounts over (``/etc``, ``/tmp``, ``/dev/null``) pointing at the host: the host is untouched."""
    before = Path("/etc/passwd").read_bytes()
    links = layer({"etc": "->/etc", "tmp": "->/var", "dev/null": "->/etc/hostname", "proc": "->/"})
    binary = layer({"usr/local/bin/handler": images.go["v1"]}, {"usr/local/bin/handler": 0o755})
    images.registry.push("links", "v1", [links, binary], GO_CONFIG | {"WorkingDir": "/"})
    name = create(lam, image_function, f"{images.host}/links:v1")
    body = invoke(lam, name)
    assert body["version"] == "v1" and body["tmp_writable"] and not body["host_visible"]
    assert Path("/etc/passwd").read_bytes() == before


def test_bad_image_requests_are_refused_and_change_nothing(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    images.push_go("go-fn", "v1")
    uri = f"{images.host}/go-fn:v1"

    def error(call, **params: object) -> tuple[str, str]:  # type: ignore[no-untyped-def]
        with pytest.raises(ClientError) as refused:
            call(**params)
        return refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]

    refused = error(
        lam.create_function,
        FunctionName="img-bad",
        Role=ROLE,
        PackageType="Image",
        Code={"ImageUri": uri},
        Runtime="python3.12",
    )
    assert refused == (
        "InvalidParameterValueException",
        "Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.",
    )
    code, message = error(
        lam.create_function,
        FunctionName="img-bad",
        Role=ROLE,
        PackageType="Image",
        Code={"ImageUri": f"{images.host}/nothing:here"},
    )
    assert code == "InvalidParameterValueException"
    assert message.startswith(f"Source image {images.host}/nothing:here does not exist. Provide a valid source image.")
    with pytest.raises(ClientError):
        lam.get_function(FunctionName="img-bad")
    name = create(lam, image_function, uri)
    revision = lam.get_function_configuration(FunctionName=name)["RevisionId"]
    assert (
        error(lam.update_function_code, FunctionName=name, ZipFile=b"PK\x05\x06" + bytes(18))[0]
        == "InvalidParameterValueException"
    )
    assert (
        error(lam.update_function_configuration, FunctionName=name, Handler="app.handler")[0]
        == "InvalidParameterValueException"
    )
    assert (
        error(lam.update_function_code, FunctionName=name, ImageUri=f"{images.host}/go-fn:missing")[0]
        == "InvalidParameterValueException"
    )
    again = error(lam.create_function, FunctionName=name, Role=ROLE, PackageType="Image", Code={"ImageUri": uri})
    assert again[0] == "ResourceConflictException"
    assert lam.get_function_configuration(FunctionName=name)["RevisionId"] == revision
    assert invoke(lam, name)["version"] == "v1"


def test_an_index_resolves_to_linux_amd64_in_dockers_media_types(
    lam, images: Images, image_function: list[str]
) -> None:  # type: ignore[no-untyped-def]
    amd64 = images.registry.push("multi", "amd64", images.go_layers("v2"), GO_CONFIG, docker=True)
    arm64 = images.registry.push("multi", "arm64", images.go_layers("v1"), GO_CONFIG)
    images.registry.push_index("multi", "latest", {"arm64": arm64, "amd64": amd64})
    name = create(lam, image_function, f"{images.host}/multi")  # no tag: latest, as docker pull reads it
    assert invoke(lam, name)["version"] == "v2"
    assert lam.get_function(FunctionName=name)["Code"]["ResolvedImageUri"] == f"{images.host}/multi@{amd64}"


def test_a_docker_archive_on_the_servers_disk(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    archive = images.work / "go.docker.tar"
    docker_archive(archive, "go:v1", images.go_layers("v1"), GO_CONFIG)
    name = create(lam, image_function, f"docker-archive:{archive}:v1")
    assert invoke(lam, name)["version"] == "v1"


def test_a_registry_that_wants_a_bearer_token(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    images.push_go("gated", "v1")
    gate = TokenGate(images.registry)
    try:
        name = create(lam, image_function, f"{gate.host}/gated:v1")
        assert invoke(lam, name)["version"] == "v1"
        assert gate.token_requests and "scope=repository%3Agated%3Apull" in gate.token_requests[0]
    finally:
        gate.close()


def test_an_entrypoint_the_image_lacks_is_lambdas_invalid_entrypoint(
    lam, images: Images, image_function: list[str]
) -> None:  # type: ignore[no-untyped-def]
    images.push_go("go-fn", "v1")
    name = create(lam, image_function, f"{images.host}/go-fn:v1", ImageConfig={"EntryPoint": ["/no/such/program"]})
    reply = lam.invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(reply["Payload"].read())
    assert reply["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.InvalidEntrypoint"
    assert "fork/exec /no/such/program: no such file or directory" in body["errorMessage"]


def test_images_outlive_a_restart_and_unused_ones_are_collected(images: Images, tmp_path: Path) -> None:
    kept_digest = images.push_go("go-restart", "v1")
    images.registry.push("go-dropped", "v1", [layer({"only-here": b"x"}), *images.go_layers("v1")[1:]], GO_CONFIG)
    data = tmp_path / "data"
    with running(data) as first:
        lam = first.client()
        lam.create_function(
            FunctionName="kept", Role=ROLE, PackageType="Image", Code={"ImageUri": f"{images.host}/go-restart:v1"}
        )
        lam.create_function(
            FunctionName="dropped", Role=ROLE, PackageType="Image", Code={"ImageUri": f"{images.host}/go-dropped:v1"}
        )
        settle(lam, "kept")
        settle(lam, "dropped")
        lam.delete_function(FunctionName="dropped")
    only_here = hashlib.sha256(layer({"only-here": b"x"})).hexdigest()
    assert (data / "images" / "layers" / only_here).is_dir()
    with running(data) as second:
        lam = second.client()
        assert invoke(lam, "kept")["version"] == "v1"
        assert lam.get_function(FunctionName="kept")["Code"]["ResolvedImageUri"].endswith(kept_digest)
    layers = {path.name for path in (data / "images" / "layers").iterdir()}
    assert only_here not in layers and hashlib.sha256(images.base).hexdigest() in layers
    assert [path.stem for path in (data / "images" / "images").iterdir()] == [kept_digest.removeprefix("sha256:")]


def test_a_private_registry_with_docker_logins_credentials(  # type: ignore[no-untyped-def]
    lam, images: Images, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images.push_go("gated", "v1")
    gate = TokenGate(images.registry, credentials=("alice", "s3cret"))
    uri = f"{gate.host}/gated:v1"
    try:
        with pytest.raises(ClientError) as refused:  # the session's server has no credentials for it
            lam.create_function(FunctionName="private", Role=ROLE, PackageType="Image", Code={"ImageUri": uri})
        assert "Source image" in refused.value.response["Error"]["Message"]
        auth = base64.b64encode(b"alice:s3cret").decode()
        (tmp_path / "docker").mkdir()
        (tmp_path / "docker" / "config.json").write_text(json.dumps({"auths": {gate.host: {"auth": auth}}}))
        monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))  # what `docker login` writes
        with running(tmp_path / "logged-in") as server:
            private = server.client()
            private.create_function(FunctionName="private", Role=ROLE, PackageType="Image", Code={"ImageUri": uri})
            private.get_waiter("function_active_v2").wait(FunctionName="private")
            assert invoke(private, "private")["version"] == "v1"
    finally:
        gate.close()


def test_the_process_sandbox_refuses_images(images: Images, tmp_path: Path) -> None:
    images.push_go("go-fn", "v1")
    with running(tmp_path / "data", "--sandbox", "process") as server:
        with pytest.raises(ClientError) as refused:
            server.client().create_function(
                FunctionName="img", Role=ROLE, PackageType="Image", Code={"ImageUri": f"{images.host}/go-fn:v1"}
            )
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert "namespaces sandbox" in refused.value.response["Error"]["Message"]


def test_an_extension_the_image_carries_in_opt_extensions(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    extension = go_binary(images.work, "ext", GO_EXTENSION, name="probe")
    extra = layer({"opt/extensions/probe": extension}, {"opt/extensions/probe": 0o755})
    images.registry.push("with-extension", "v1", [*images.go_layers("v1"), extra], GO_CONFIG)
    name = create(lam, image_function, f"{images.host}/with-extension:v1")
    body = invoke(lam, name)
    assert body["files"]["/tmp/extension-started"]  # the runtime starts once the extension has registered


def create_held(lam, names: list[str], uri: str, **settings: object) -> str:  # type: ignore[no-untyped-def]
    """A function created from a held front: Pending until the front is released."""
    name = f"img-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Role=ROLE, PackageType="Image", Code={"ImageUri": uri}, **settings)
    names.append(name)
    return name


@contextlib.contextmanager
def held(images: Images) -> Iterator[HeldFront]:
    front = HeldFront(images.registry)
    try:
        yield front
    finally:
        front.close()


def _error(call, **params: object) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as refused:
        call(**params)
    return refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]


def test_create_is_pending_while_the_image_is_pulled(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    images.push_go("go-slow", "v1")
    with held(images) as front:
        name = create_held(lam, image_function, f"{front.host}/go-slow:v1", Publish=True)
        config = lam.get_function_configuration(FunctionName=name)
        assert (config["State"], config["LastUpdateStatus"]) == ("Pending", "InProgress")
        assert (config["StateReasonCode"], config["StateReason"]) == ("Creating", "The function is being created.")
        assert _error(lam.invoke, FunctionName=name, Payload=b"{}") == (
            "ResourceConflictException",
            "The operation cannot be performed at this time. The function is currently in the following state: Pending",
        )
        assert _error(lam.update_function_configuration, FunctionName=name, Timeout=9)[0] == (
            "ResourceConflictException"
        )
        front.release()
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
    config = lam.get_function_configuration(FunctionName=name)
    assert (config["State"], config["LastUpdateStatus"]) == ("Active", "Successful") and "StateReason" not in config
    assert invoke(lam, name)["version"] == "v1"
    versions = lam.list_versions_by_function(FunctionName=name)["Versions"]  # Publish: once the image is there
    assert [(v["Version"], v["CodeSha256"]) for v in versions] == [
        ("$LATEST", config["CodeSha256"]),
        ("1", config["CodeSha256"]),
    ]


def test_an_image_deleted_before_it_is_pulled_fails_the_function(
    lam, images: Images, image_function: list[str]
) -> None:  # type: ignore[no-untyped-def]
    images.push_go("go-deleted", "v1")
    with held(images) as front:
        name = create_held(lam, image_function, f"{front.host}/go-deleted:v1")
        front.gone = True  # the tag is gone by the time the pull asks for it
        front.release()
        config = settle(lam, name)
    assert (config["State"], config["StateReasonCode"], config["LastUpdateStatus"]) == (
        "Failed",
        "ImageDeleted",
        "Failed",
    )
    assert "cannot be found any more" in config["StateReason"]
    with pytest.raises(botocore.exceptions.WaiterError):
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    assert _error(lam.invoke, FunctionName=name, Payload=b"{}")[0] == "ResourceConflictException"


def test_an_update_is_in_progress_then_successful_or_failed_and_the_old_image_serves(
    lam, images: Images, image_function: list[str]
) -> None:  # type: ignore[no-untyped-def]
    first = images.push_go("go-upd", "v1")
    images.push_go("go-upd", "v2")
    layers = images.go_layers("v1")
    images.registry.push("go-upd", "huge", layers, GO_CONFIG, claimed_sizes=[6 << 30, 6 << 30, 1 << 10])
    name = create(lam, image_function, f"{images.host}/go-upd:v1")
    with held(images) as front:
        updated = lam.update_function_code(FunctionName=name, ImageUri=f"{front.host}/go-upd:v2")
        assert updated["LastUpdateStatus"] == "InProgress"
        config = lam.get_function_configuration(FunctionName=name)
        assert (config["State"], config["LastUpdateStatus"]) == ("Active", "InProgress")
        assert invoke(lam, name)["version"] == "v1"  # the image before keeps serving
        assert _error(lam.update_function_code, FunctionName=name, ImageUri=f"{images.host}/go-upd:v1")[0] == (
            "ResourceConflictException"
        )
        front.release()
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert invoke(lam, name)["version"] == "v2"
    lam.update_function_code(FunctionName=name, ImageUri=f"{images.host}/go-upd:huge")
    with pytest.raises(botocore.exceptions.WaiterError):
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    config = lam.get_function_configuration(FunctionName=name)
    assert (config["State"], config["LastUpdateStatus"]) == ("Active", "Failed")
    assert config["LastUpdateStatusReasonCode"] == "InvalidImage"
    assert (
        config["LastUpdateStatusReason"] == "SizeLimitExceeded: Uncompressed container image size exceeds 10 GiB limit"
    )
    assert invoke(lam, name)["version"] == "v2"  # still the last image that could be pulled
    lam.update_function_code(FunctionName=name, ImageUri=f"{images.host}/go-upd:v1", Publish=True)
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    version = lam.list_versions_by_function(FunctionName=name)["Versions"][-1]
    assert (version["Version"], version["CodeSha256"]) == ("1", first.removeprefix("sha256:"))
    reply = lam.invoke(FunctionName=name, Qualifier="1", Payload=b"{}")
    assert json.loads(reply["Payload"].read())["version"] == "v1"


def test_an_image_for_another_architecture_fails_as_invalid(lam, images: Images, image_function: list[str]) -> None:  # type: ignore[no-untyped-def]
    images.registry.push("go-arm", "v1", images.go_layers("v1"), GO_CONFIG, architecture="arm64")
    name = create(lam, image_function, f"{images.host}/go-arm:v1")
    assert _failed(lam, name)["StateReason"] == (
        "The image's architecture (arm64) does not match the function's architecture (x86_64): "
        "update the function's Architectures or provide an image built for it."
    )


def test_a_pull_a_stop_interrupted_is_pulled_again_at_the_next_start(images: Images, tmp_path: Path) -> None:
    images.push_go("go-resume", "v1")
    data = tmp_path / "data"
    with held(images) as front:
        with running(data) as first:
            uri = f"{front.host}/go-resume:v1"
            first.client().create_function(
                FunctionName="resumed", Role=ROLE, PackageType="Image", Code={"ImageUri": uri}
            )
        front.release()  # stopped while the image was being pulled
        with running(data) as second:
            lam = second.client()
            assert lam.get_function_configuration(FunctionName="resumed")["State"] in ("Pending", "Active")
            lam.get_waiter("function_active_v2").wait(FunctionName="resumed")
            assert invoke(lam, "resumed")["version"] == "v1"
