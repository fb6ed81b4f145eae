"""Cold and warm latency of container image functions, beside the runtimes' (``runtimes.py``): the tests'
images (``tests/images/oci_images.py``: a static Go Runtime API client, Debian's Python with awslambdaric)
pushed to a local ``docker-registry``, ``count`` functions created from each (the pull is not timed: it
happens once per digest, at the first CreateFunction), then the first invoke of each and ~200 warm ones."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from kindling_server import MEMORY_SIZE, ROLE
from kit import Progress
from runtimes import ROOT, measure_created

sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "images")]
import oci_images  # noqa: E402  (the tests' image builders, found through the path above)

PY_APP = "def handler(event, context):\n    return {'hello': 'world'}\n"
PY_CONFIG = {
    "Entrypoint": ["/usr/bin/python3.11", "-m", "awslambdaric"],
    "Cmd": ["app.handler"],
    "Env": ["PYTHONPATH=/var/runtime", "PATH=/usr/bin"],
    "WorkingDir": "/var/task",
}
GO_CONFIG = {"Entrypoint": ["/usr/local/bin/handler"], "WorkingDir": "/"}


def _images(work: Path) -> dict[str, tuple[list[bytes], dict]]:
    go = oci_images.go_binary(work, "bench")
    return {
        "image (Go)": ([oci_images.layer({"usr/local/bin/handler": go}, {"usr/local/bin/handler": 0o755})], GO_CONFIG),
        "image (awslambdaric)": (
            [oci_images.python_layer(), oci_images.layer({"var/task/app.py": PY_APP.encode()})],
            PY_CONFIG,
        ),
    }


def _measure(client: BaseClient, port: int, label: str, uri: str, count: int, warm: int) -> dict:
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    names = [f"img-{slug}-{i}" for i in range(count + 1)]
    for name in names:
        client.create_function(FunctionName=name, Role=ROLE, PackageType="Image", Code={"ImageUri": uri},
                               MemorySize=MEMORY_SIZE, Timeout=30)  # fmt: skip
    for name in names:  # an image function is Pending until its image is pulled, as on AWS
        client.get_waiter("function_active_v2").wait(FunctionName=name)
    return measure_created(client, port, names, warm)


def measure_images(client: BaseClient, port: int, progress: Progress, count: int = 5, warm: int = 200) -> dict:
    """{label: {cold_p50_ms, cold_max_ms, cold_n, warm_p50_ms, warm_n} or {unavailable: reason}} per image."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="kindling-bench-images.") as tmp:
        try:
            images = _images(Path(tmp))
            with oci_images.registry(Path(tmp)) as registry:
                for label, (layers, config) in images.items():
                    repository = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
                    registry.push(repository, "bench", layers, config)
                    progress(f"images: {label}: {count} cold starts, {warm} warm invokes")
                    results[label] = _measure(client, port, label, f"{registry.host}/{repository}:bench", count, warm)
                    row = results[label]
                    progress(f"images: {label}: cold p50 {row['cold_p50_ms']} ms, warm p50 {row['warm_p50_ms']} ms")
        except (BotoCoreError, ClientError, OSError, RuntimeError) as exc:
            for label in ("image (Go)", "image (awslambdaric)"):
                results.setdefault(label, {"unavailable": str(exc)})
            progress(f"images: {exc}")
    return results
