"""Runs inside a template: a runtime process that ran its init once and now forks environments from it.

Loaded by the fork server (standard library only, no threads of ours, like ``isolate.py``). A template
is an ordinary isolated environment (its own uid, no capabilities, ``no_new_privs``) whose entry ran
``snapshot()`` instead of ``main()``. It then waits for requests on a SOCK_SEQPACKET socket (fd 4), each
carrying a new environment's control socket and log pipe (SCM_RIGHTS), and forks a *keeper* per request:

1. the keeper makes new user, mount, PID, IPC and UTS namespaces (and network, when the template has a
   private one) — an unprivileged process gains capabilities only inside its own user namespace, where
   every mount inherited from the template is locked — then forks the environment, PID 1 of the new
   PID namespace, waits for it and reports its exit status;
2. the environment writes one byte on its control socket, which tells the server its host pid
   (SCM_CREDENTIALS), and waits; the server maps its uid and gid to the environment's own ids and
   places it in its cgroups, then answers ``GO``;
3. the environment mounts a fresh tmpfs on ``/tmp`` holding the files init left there, and a ``/proc``
   of its own, drops every capability, and returns to the fork server, which enters the runtime's
   ``restore()``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from dataclasses import dataclass

import isolate
import seccomp

REQUESTS_FD = 4
GO = b"g"
MAX_MESSAGE = 1 << 16
USER_NAMESPACES = isolate.CLONE_NEWUSER | isolate.CLONE_NEWNS | isolate.CLONE_NEWPID
OTHER_NAMESPACES = isolate.CLONE_NEWIPC | isolate.CLONE_NEWUTS


def openings(spec: dict) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """What the seccomp filter of an isolated template leaves open (its keepers' ``unshare`` and its
    environments' two mounts, those exact flags only); nothing for any other environment."""
    if not (spec.get("template") and spec.get("isolate")):
        return (), ()
    network = 0 if spec.get("network", True) else isolate.CLONE_NEWNET
    flags = isolate.MS_NOSUID | isolate.MS_NODEV
    return (USER_NAMESPACES | OTHER_NAMESPACES | network,), (flags, flags | isolate.MS_NOEXEC)


@dataclass
class SavedFile:
    """One entry of ``/tmp`` as init left it: a directory (``data`` None), a file or a symlink."""

    path: str
    mode: int
    data: bytes | None = None
    link: str | None = None


def save_tree(root: str) -> list[SavedFile]:
    """What init wrote under ``root``, read once in the template and copied into every environment."""
    saved: list[SavedFile] = []
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root)
            info = os.lstat(path)
            if os.path.islink(path):
                saved.append(SavedFile(relative, 0o777, link=os.readlink(path)))
            elif os.path.isdir(path):
                saved.append(SavedFile(relative, info.st_mode & 0o7777))
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    saved.append(SavedFile(relative, info.st_mode & 0o7777, handle.read()))
    return saved


def restore_tree(root: str, saved: list[SavedFile]) -> None:
    for entry in saved:  # os.walk lists a directory before what it holds
        path = os.path.join(root, entry.path)
        if entry.link is not None:
            os.symlink(entry.link, path)
        elif entry.data is None:
            os.mkdir(path, entry.mode)
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, entry.mode)
            try:
                os.write(fd, entry.data)
            finally:
                os.close(fd)


@dataclass
class TemplateState:
    """What every environment forked from this template inherits besides its memory."""

    isolated: bool
    uid: int  # the template's uid, which each environment keeps inside its user namespace
    private_network: bool
    tmp: list[SavedFile]


def serve(entry: object, spec: dict) -> None:
    """Init once, then fork environments until the server goes away. Returns only in an environment,
    isolated and ready for the entry's ``restore()``."""
    if not entry.snapshot(3):  # type: ignore[attr-defined]  # the init error went to the server
        os._exit(0)
    isolated = bool(spec.get("isolate"))
    state = TemplateState(isolated, os.getuid(), not spec.get("network", True), save_tree("/tmp") if isolated else [])
    requests = socket.socket(fileno=REQUESTS_FD)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # keepers are reaped by the kernel
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(requests, MAX_MESSAGE, 2)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)  # the server closed the template
        request = json.loads(message)
        try:
            pid = os.fork()
        except OSError as error:
            _reply(requests, {"op": "exit", "id": request["id"], "status": 70, "error": str(error)})
            pid = -1
        if pid == 0:
            _keep(request, fds, requests, state)
            return
        for fd in fds:
            os.close(fd)


def _keep(request: dict, fds: list[int], requests: socket.socket, state: TemplateState) -> None:
    """The keeper: new namespaces, then the environment; it waits for it and reports how it ended."""
    try:
        isolate._libc.prctl(isolate.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if state.isolated:
            network = isolate.CLONE_NEWNET if state.private_network else 0
            isolate.unshare(USER_NAMESPACES | OTHER_NAMESPACES | network)
        pid = os.fork()
    except BaseException as error:
        _reply(requests, {"op": "exit", "id": request["id"], "status": 70, "error": str(error)})
        os._exit(70)
    if pid == 0:
        requests.close()
        _become_environment(request, fds, state)
        return
    for fd in fds:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    _reply(requests, {"op": "exit", "id": request["id"], "status": os.waitstatus_to_exitcode(status)})
    os._exit(0)


def _become_environment(request: dict, fds: list[int], state: TemplateState) -> None:
    """PID 1 of its namespaces: announce itself, wait for the server, isolate, drop every capability."""
    try:
        isolate._libc.prctl(isolate.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the keeper reports our end
        control, log = fds
        os.write(control, b"r")  # the server reads our host pid off this byte (SCM_CREDENTIALS)
        if os.read(control, 1) != GO:
            os._exit(1)
        if state.isolated:
            flags = isolate.MS_NOSUID | isolate.MS_NODEV
            size = f"size={request['tmp_mb']}m,mode=0700,uid={state.uid},gid={state.uid}"
            isolate.mount("tmpfs", "/tmp", "tmpfs", flags, size)
            isolate.mount("proc", "/proc", "proc", flags | isolate.MS_NOEXEC)
            os.setresgid(state.uid, state.uid, state.uid)  # now mapped to the environment's own ids
            os.setresuid(state.uid, state.uid, state.uid)
            restore_tree("/tmp", state.tmp)
            isolate.drop_capabilities()
        seccomp.confine()  # the template's openings closed before the handler runs
        for target in (1, 2):
            os.dup2(log, target)
        os.dup2(control, 3)
        os.close(log)
        os.close(control)
        os.environ.update(request.get("env", {}))
    except BaseException as error:
        print(f"restore failed: {error}", file=sys.stderr, flush=True)
        os._exit(70)


def _reply(requests: socket.socket, message: dict) -> None:
    requests.send(json.dumps(message).encode())
