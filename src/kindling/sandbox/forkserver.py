"""The zygote: a pre-initialised interpreter that forks new execution environments.

Started once per runtime by the server (``python -I -S forkserver.py SOCKET_FD ENTRY``), it
imports the runtime's entry module up front, then waits for spawn requests on a Unix
SOCK_SEQPACKET socket. Each request carries a JSON spec and two file descriptors (the
environment's control socket and its log pipe). The child is cloned straight into new
namespaces, joins its cgroups, isolates itself (``isolate.py``) and then runs the entry's
``main()`` without an exec, so a cold start costs a fork plus isolation instead of an
interpreter start. Exits of children are reported back on the same socket.

Standard library only, single-threaded by design: forking is only safe without threads.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import selectors
import signal
import socket
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import isolate  # noqa: E402  (the sibling module, imported by path on purpose)
import loopback  # noqa: E402
import seccomp  # noqa: E402
import template_server  # noqa: E402

SYS_CLONE = 220 if os.uname().machine in ("aarch64", "arm64") else 56
_pyapi = ctypes.PyDLL(None)
_pyapi.syscall.restype = ctypes.c_long
_pyapi.syscall.argtypes = [
    ctypes.c_long,
    ctypes.c_ulong,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
]
PR_SET_CHILD_SUBREAPER = 36
CLONE_PARENT = 0x00008000
MAX_MESSAGE = 1 << 20
FALLBACKS: set[str] = set()  # host paths on sys.path the zygote moved but still imports from (see ``rebase``)


def clone(flags: int) -> int:
    """fork(2) into new namespaces in one step, keeping CPython's fork bookkeeping."""
    if not flags:
        return os.fork()
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = _pyapi.syscall(SYS_CLONE, flags | signal.SIGCHLD, None, None, None, None)
    if pid == 0:
        ctypes.pythonapi.PyOS_AfterFork_Child()
    else:
        ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(ctypes.get_errno(), "clone failed")
    return pid


def load_entry(path: str) -> object:
    spec = importlib.util.spec_from_file_location("kindling_runtime_entry", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def become_environment(spec: dict, fds: list[int], entry: object) -> None:
    """Runs in the cloned child: never returns. ``fds``: control socket, log pipe and, with extensions,
    the pipes for their exit reports and their output (kept at 4 and 5 for ``start_extensions``) or,
    for a template, the socket its restore requests come on (kept at 4)."""
    code = 70
    try:
        isolate._libc.prctl(isolate.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        for target, fd in zip((1, 3, 4, 5), (fds[1], fds[0], *fds[2:4]), strict=False):
            os.dup2(fd, target)
        os.dup2(1, 2)
        os.closerange(2 + len(fds), os.sysconf("SC_OPEN_MAX") if spec.get("close_all") else 4096)
        join_cgroups(spec.get("cgroups", []))
        if spec.get("isolate"):
            layout = spec["layout"]
            isolate.build_root(isolate.Layout(**layout))
            drop_fallbacks()
            rebase(moves(layout["readonly"]))
        bridge = spec.get("bridge")  # no network: Kindling's endpoint only, through the bridge
        listener = loopback.listen(bridge["port"]) if bridge else None
        datagrams = loopback.listen_datagrams(bridge["port"]) if bridge and bridge.get("datagrams") else None
        egress = bridge.get("egress") if bridge else None  # an allowlist: its networks and ports, to the proxy
        outward = (loopback.listen_egress(egress["rules"]), egress["socket"]) if egress else ([], "")
        isolate.drop_privileges(spec["uid"], spec["gid"], spec.get("max_files", 1024))
        if bridge and listener is not None:
            datagram_target = bridge.get("datagrams", "")
            loopback.forward(listener, bridge["socket"], isolate._libc, datagrams, datagram_target, outward)
        seccomp.confine(*template_server.openings(spec))  # before any code of the function's runs
        os.chdir(spec.get("cwd", "/"))
        os.environ.clear()
        os.environ.update(spec["env"])
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        sys.modules.pop("isolate", None)
        sys.modules.pop("template_server", None)
        sys.modules.pop("loopback", None)
        sys.modules.pop("seccomp", None)
        if HERE in sys.path:
            sys.path.remove(HERE)
        if spec.get("extensions"):
            start_extensions(spec["extensions"], spec["env"])
            if os.read(3, 1) != b"g":  # the server says go once they registered (Lambda's init order)
                os._exit(0)
        if spec.get("argv"):
            os.execvpe(spec["argv"][0], spec["argv"], spec["env"])  # an image's entrypoint may be a bare name
        if spec.get("template"):
            template_server.serve(entry, spec)  # returns only in an environment forked from the template
            entry.restore(3)  # type: ignore[attr-defined]
        else:
            entry.main(3)  # type: ignore[attr-defined]
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
    os._exit(code)


def join_cgroups(procs_files: list[str]) -> None:
    for procs in procs_files:
        with open(procs, "w") as handle:
            handle.write("0")


def park(request: dict, conn: socket.socket, entry: object) -> None:
    """A spare, in its own process: it joins its cgroups now, while nothing waits for it (on cgroup v1 a
    move into a group can wait ~20 ms for the kernel after an idle spell), then forks one environment
    when asked. That child is born in the groups (no move) and, by ``CLONE_PARENT``, is the zygote's."""
    code = 70
    try:
        isolate._libc.prctl(isolate.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        join_cgroups(request["cgroups"])
        conn.send(json.dumps({"op": "parked"}).encode())
        message, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 4)
        if not message:
            os._exit(0)
        spec = {**json.loads(message), "cgroups": []}  # in them already
        pid = clone(isolate.namespace_flags(spec.get("network", True)) | CLONE_PARENT)
        if pid == 0:
            conn.close()
            become_environment(spec, fds, entry)
        conn.send(json.dumps({"op": "spawned", "id": spec["id"], "pid": pid}).encode())
        code = 0
    except BaseException:
        traceback.print_exc()
    os._exit(code)


def start_extensions(paths: list[str], env: dict[str, str]) -> None:
    """Fork a supervisor that execs each external extension (output on fd 5) and reports each exit as
    ``name status`` on fd 4; returns in the runtime. Everything dies with the runtime (PDEATHSIG)."""
    if os.fork():
        os.close(4)
        os.close(5)
        return
    code = 0
    try:
        isolate._libc.prctl(isolate.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        names: dict[int, str] = {}
        for path in paths:
            pid = os.fork()
            if pid == 0:
                isolate._libc.prctl(isolate.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                os.dup2(5, 1)
                os.dup2(5, 2)
                os.closerange(3, 6)
                try:
                    os.execve(path, [path], env)
                except OSError as error:  # in the log, as Lambda shows a failed extension start
                    os.write(2, f"{path}: {error.strerror}\n".encode())
                os._exit(127)
            names[pid] = os.path.basename(path)
        for fd in (1, 2, 3, 5):  # the runtime's end must see EOF when the runtime alone dies
            os.close(fd)
        while names:
            pid, status = os.waitpid(-1, 0)
            if pid in names:
                os.write(4, f"{names.pop(pid)} {os.waitstatus_to_exitcode(status)}\n".encode())
    except BaseException:
        code = 70
    os._exit(code)


def moves(readonly: dict[str, str]) -> dict[str, str]:
    """What the zygote imported from that the sandbox shows elsewhere: the interpreter (at /var/lang) and
    the directories on ``sys.path`` it binds under another name (the Python runtime's SDK at /var/runtime)."""
    found = {host: inside for inside, host in readonly.items() if host != inside and host in sys.path}
    if readonly.get("/var/lang") == sys.base_prefix:
        found[sys.base_prefix] = "/var/lang"
    return found


def rebase(moved_dirs: dict[str, str], *, keep_old: bool = False) -> None:
    """Those directories now live at their new paths: later imports must look there. ``keep_old`` (in the
    zygote, which still runs on the host) leaves each old path before its new one on ``sys.path`` and in
    packages' ``__path__``, where it serves the zygote and is no more than a failed lookup in a sandbox."""
    if not moved_dirs:
        return

    def moved(path: str) -> str:
        for old, new in moved_dirs.items():
            if path == old or path.startswith(old + "/"):
                return new + path[len(old) :]
        return path

    def entries(paths: list[str]) -> list[str]:
        return [
            p for path in paths for p in ((path, moved(path)) if keep_old and moved(path) != path else (moved(path),))
        ]

    if keep_old:
        FALLBACKS.update(path for path in sys.path if moved(path) != path)
    sys.path[:] = entries(sys.path)
    for module in list(sys.modules.values()):
        search = getattr(module, "__path__", None)
        if isinstance(search, list) and search != (new_search := entries(search)):
            search[:] = new_search  # packages already imported find their submodules through this
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and moved(file) != file:  # written only when moved: each write copies a page
            module.__file__ = moved(file)
    for name in ("prefix", "exec_prefix", "base_prefix", "base_exec_prefix", "executable", "_base_executable"):
        if isinstance(getattr(sys, name, None), str):
            setattr(sys, name, moved(getattr(sys, name)))
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()


def drop_fallbacks() -> None:
    """In a sandbox: the zygote's host paths leave ``sys.path``, and no failed lookup of a new path the zygote
    may have cached hides it."""
    sys.path[:] = [path for path in sys.path if path not in FALLBACKS]
    for path in sys.path:
        sys.path_importer_cache.pop(path, None)


def serve(sock: socket.socket, entry: object) -> None:
    isolate._libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ, "request")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    ours: set[int] = set()
    unclaimed: dict[int, int] = {}  # exits of children the zygote did not fork itself, not yet claimed
    spares: dict[str, socket.socket] = {}
    spare_pids: set[int] = set()
    forwarded: dict[str, str] = {}  # spare id -> the spawn it was asked for

    def forget(spare_id: str) -> None:
        conn = spares.pop(spare_id)
        selector.unregister(conn)
        conn.close()

    while True:
        for key, _ in selector.select():
            if key.data == "child":
                os.read(wake_r, 4096)
                reap(sock, ours, unclaimed, spare_pids)
                continue
            if key.data != "request":  # a spare: parked, or the pid of the environment it forked
                spare_id = key.data
                try:
                    data = spares[spare_id].recv(MAX_MESSAGE)
                except OSError:
                    data = b""
                note = json.loads(data) if data else {"op": "spare_failed", "error": "the spare ended"}
                if note["op"] != "parked":
                    forget(spare_id)
                if note["op"] == "spare_failed" and spare_id in forwarded:
                    note = {"op": "spawn_failed", "id": forwarded[spare_id], "error": note["error"]}
                forwarded.pop(spare_id, None)
                reply(sock, {**note, "id": note.get("id", spare_id)})
                if note["op"] == "spawned" and note["pid"] in unclaimed:  # it ended before we heard of it
                    reply(sock, {"op": "exit", "pid": note["pid"], "status": unclaimed.pop(note["pid"])})
                elif note["op"] == "spawned":
                    ours.add(int(note["pid"]))
                continue
            try:
                message, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 4)
            except ConnectionResetError:
                return
            if not message:
                return  # the server went away: so do we (children die by PDEATHSIG)
            spec = json.loads(message)
            if spec.get("op") == "park":
                conn, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                spare_pid = os.fork()
                if spare_pid == 0:
                    selector.close()
                    sock.close()
                    conn.close()
                    for fd in (wake_r, wake_w):
                        os.close(fd)
                    signal.set_wakeup_fd(-1)
                    park(spec, theirs, entry)
                theirs.close()
                spare_pids.add(spare_pid)
                spares[spec["id"]] = conn
                selector.register(conn, selectors.EVENT_READ, spec["id"])
                continue
            if spec.get("spare") in spares:  # born in the spare's cgroups; unknown spares: as usual, below
                socket.send_fds(spares[spec["spare"]], [message], fds)
                forwarded[spec["spare"]] = spec["id"]
                for fd in fds:
                    os.close(fd)
                continue
            try:
                pid = clone(isolate.namespace_flags(spec.get("network", True)) if spec.get("isolate") else 0)
            except OSError as error:
                reply(sock, {"op": "spawn_failed", "id": spec["id"], "error": str(error)})
                for fd in fds:
                    os.close(fd)
                continue
            if pid == 0:
                selector.close()
                sock.close()
                os.close(wake_r)
                os.close(wake_w)
                become_environment(spec, fds, entry)
            for fd in fds:
                os.close(fd)
            ours.add(pid)
            reply(sock, {"op": "spawned", "id": spec["id"], "pid": pid})


def reap(sock: socket.socket, ours: set[int], unclaimed: dict[int, int], spare_pids: set[int]) -> None:
    """Report the exits of environments; a spare's own exit is not one, and an environment a spare
    forked may end before the spare's word of it arrives (``unclaimed`` keeps it until then)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)
        if pid in ours:
            ours.discard(pid)
            reply(sock, {"op": "exit", "pid": pid, "status": code})
        elif pid in spare_pids:
            spare_pids.discard(pid)
        else:
            unclaimed[pid] = code


def reply(sock: socket.socket, message: dict) -> None:
    sock.send(json.dumps(message).encode())


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    entry = load_entry(sys.argv[2])
    warm = getattr(entry, "preload", None)
    if warm:
        warm()
    # what the preload imported from directories every sandbox binds elsewhere (the interpreter at /var/lang,
    # the Python runtime's SDK at /var/runtime) moves there once, here, instead of in each environment: there it
    # touched every module, hundreds of copied pages and 1 to 5 ms of each cold start
    rebase(json.loads(os.environ.pop("KINDLING_MOVES", "{}")), keep_old=True)
    reply(sock, {"op": "ready", "pid": os.getpid()})
    serve(sock, entry)


if __name__ == "__main__":
    main()
