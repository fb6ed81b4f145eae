"""The process backend: the runtime is a plain child process of its zygote, with the server's user and the
host's file system. It isolates nothing (``server.py`` says so loudly at start-up): for machines where
namespaces are impossible (not Linux, not root)."""

from __future__ import annotations

import os
from typing import Any

from .contract import CA_PATH, SandboxSpec
from .forking import ForkedSandbox, ForkingBackend


class ProcessBackend(ForkingBackend):
    name = "process"

    async def create(self, spec: SandboxSpec, *, host_tmp: bool = True) -> ForkedSandbox:
        return ForkedSandbox(spec, os.getuid(), self._scratch(spec), self)

    def _layout(
        self, sandbox: ForkedSandbox, env: dict[str, str], mounts: dict[str, str], argv: list[str]
    ) -> dict[str, Any]:
        env["LAMBDA_TASK_ROOT"] = str(sandbox.spec.code_dir)
        env["TMPDIR"] = str(sandbox.scratch / "tmp")
        if sandbox.spec.ca_bundle:  # no CA_PATH on the host: a copy in the scratch, where the variables point
            bundle = sandbox.scratch / "ca.pem"
            bundle.write_text(sandbox.spec.ca_bundle)
            env.update({name: str(bundle) for name, value in env.items() if value == CA_PATH})
        return {
            "isolate": False,
            "uid": sandbox.uid,
            "gid": sandbox.uid,
            "cwd": str(sandbox.spec.code_dir),
            "env": env,
            "argv": [_on_host(arg, mounts) for arg in argv],
            "extensions": [_on_host(path, mounts) for path in sandbox.spec.extensions],
        }

    def _restore_env(self, sandbox: ForkedSandbox, env: dict[str, str]) -> dict[str, str]:
        return {**env, "TMPDIR": str(sandbox.scratch / "tmp")}


def _on_host(path: str, mounts: dict[str, str]) -> str:
    """A sandbox path as this backend, which mounts nothing, finds it on the host."""
    for inside, host in mounts.items():
        if path == inside or path.startswith(inside + "/"):
            return host + path[len(inside) :]
    return path
