"""Start a sandbox's runtime together with the channel it will answer on.

The built-in Python runtime answers on its private channel (``channel.py``); every other runtime on
the HTTP Runtime API (``runtime_api.py``), told where to find it in ``AWS_LAMBDA_RUNTIME_API``.
External extensions are served on a Runtime API port too, the Python runtime's included.
"""

from __future__ import annotations

from ..images.entrypoint import entrypoint_error
from ..sandbox.contract import RuntimeProcess, Sandbox
from .channel import ControlChannel
from .extensions import Extensions
from .runtime_api import RuntimeApi
from .runtime_channel import RuntimeChannel


async def launch(sandbox: Sandbox, extensions: Extensions | None) -> tuple[RuntimeProcess, RuntimeChannel]:
    spec = sandbox.spec
    if not spec.runtime.command and extensions is None:
        return await sandbox.start(), ControlChannel()
    api = await RuntimeApi.listen(sandbox.uid, extensions)
    channel: RuntimeChannel = api if spec.runtime.command else ControlChannel()
    if spec.runtime.command:
        invalid = spec.runtime.entrypoint_error(spec.code_dir, spec.opt_dir)
        if spec.image:
            invalid = entrypoint_error(spec.code_dir, spec.runtime.command[0], spec.environment.get("PATH", ""))
        if invalid:
            api.entrypoint_missing(invalid)
    try:
        return await sandbox.start({"AWS_LAMBDA_RUNTIME_API": api.address}), channel
    except BaseException:
        api.close()
        raise
