"""AWS's own Node client (npm ``aws-lambda-ric``) as a ``provided.al2023`` bootstrap, unchanged.

The package's native part (curl + aws-lambda-cpp, then node-gyp) is built with autotools, cmake and g++, which
``make install`` installs; the fixture builds it once into ``~/.cache/kindling`` and fails, saying why, where that
fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from runtime_helpers import create, invoke, zip_tree

VERSION = "3.3.0"  # the newest that supports Node 20 (4.x wants Node 22)
CACHE = Path.home() / ".cache" / "kindling" / f"aws-lambda-ric-{VERSION}"
APP = """export const handler = async (event, context) => {
  if (event.fail) throw new TypeError("asked to fail");
  console.log("event", JSON.stringify(event));
  return {event, requestId: context.awsRequestId, name: context.functionName, left: context.getRemainingTimeInMillis()};
};
"""
BOOTSTRAP = "#!/bin/sh\nexec {node} /var/task/node_modules/aws-lambda-ric/bin/index.mjs index.handler\n"


def _step(argv: list[str], cwd: Path) -> None:
    try:
        subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as error:
        output = getattr(error, "stderr", "") or getattr(error, "stdout", "") or ""
        pytest.fail(f"aws-lambda-ric@{VERSION} could not be installed ({' '.join(argv[:3])}): {error} {output[-500:]}")


@pytest.fixture(scope="module")
def ric() -> Path:
    if (CACHE / "dist" / "rapid-client.node").exists():
        return CACHE
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE.parent, prefix=".tmp-ric-") as work:
        _step(["npm", "install", "--no-audit", "--no-fund", f"aws-lambda-ric@{VERSION}"], Path(work))
        package = Path(work) / "node_modules" / "aws-lambda-ric"
        if not (package / "dist" / "rapid-client.node").exists():  # npm skipped or lacked the install scripts
            _step(["sh", "scripts/preinstall.sh"], package)  # autoconf automake libtool cmake g++
            _step(["sh", "scripts/postinstall.sh"], package)  # node-gyp against the system's headers
        staged = Path(work) / "kept"  # dist/index.mjs is bundled: nothing else is needed at run time
        for folder in ("bin", "dist"):
            shutil.copytree(package / folder, staged / folder)
        shutil.copy2(package / "package.json", staged / "package.json")
        staged.rename(CACHE)
    return CACHE


@pytest.fixture
def node() -> str:
    """The host's Node, which custom runtimes see at the same path (``/usr`` is bound in the sandbox)."""
    found = shutil.which("node")
    real = os.path.realpath(found) if found else ""
    assert real.startswith("/usr/"), f"node must be installed under /usr (make install does), found {found!r}"
    return real


def test_aws_lambda_ric_runs_a_node_handler_unchanged(lam, server, ric, node, tmp_path):
    shutil.copytree(ric, tmp_path / "node_modules" / "aws-lambda-ric")
    code = zip_tree(tmp_path, {"index.mjs": APP, "bootstrap": BOOTSTRAP.format(node=node)}, executable=("bootstrap",))
    name = create(lam, "node-ric", "provided.al2023", code, handler="index.handler")
    try:
        body, error, log = invoke(lam, name, {"x": 1})
        assert error is None, body
        assert body["event"] == {"x": 1} and body["name"] == name and 0 < body["left"] <= 3000
        assert "Executing 'index.handler' in function directory '/var/task'" in log
        assert f'{body["requestId"]}\tINFO\tevent {{"x":1}}' in log
        body, error, _ = invoke(lam, name, {"fail": True})
        assert error == "Unhandled" and body["errorType"] == "TypeError" and body["errorMessage"] == "asked to fail"
    finally:
        lam.delete_function(FunctionName=name)
