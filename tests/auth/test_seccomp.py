"""The seccomp filter every execution environment gets: each denied system call fails with EPERM, in a
process running the filter alone and in a real handler, while the server and other functions carry on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from kindling.sandbox import seccomp

COLUMN = 0 if os.uname().machine == "x86_64" else 1
NUMBERS = {name: numbers[COLUMN] for name, numbers in seccomp.DENIED.items()}
CLONE_NEWUSER = 0x10000000

# Every argument 1: a bad pointer, fd 1 (not what the call wants), an unknown flag. Without the filter the
# kernel answers EFAULT, EBADF, EINVAL… (or succeeds); only the filter answers EPERM to root.
ATTEMPTS = """
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def attempt(nr, *args):
    ctypes.set_errno(0)
    result = libc.syscall(nr, *(args or (1, 1, 1, 1, 1, 1)))
    return 'OK' if result != -1 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))

def attempts():
    return {name: attempt(nr) for name, nr in NUMBERS.items()}
"""


def run_confined(code: str, *confine_args: object) -> dict:
    script = (
        f"import ctypes, json, sys\nsys.path.insert(0, {os.path.dirname(seccomp.__file__)!r})\nimport seccomp\n"
        f"NUMBERS = {NUMBERS!r}\n{ATTEMPTS}\n"
        "assert ctypes.CDLL(None).prctl(38, 1, 0, 0, 0) == 0  # no_new_privs, as every environment has\n"
        f"seccomp.confine(*{confine_args!r})\n{code}"
    )
    done = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_each_rule_gives_eperm() -> None:
    results = run_confined("print(json.dumps(attempts()))")
    assert results == dict.fromkeys(NUMBERS, "EPERM")


def test_what_a_function_needs_still_works() -> None:
    code = """
import os, subprocess, threading
out = {}
thread = threading.Thread(target=lambda: out.setdefault('thread', 'ran')); thread.start(); thread.join()
out['subprocess'] = subprocess.run(['echo', 'hi'], capture_output=True, text=True).stdout.strip()
pid = os.fork()
if pid == 0:
    os._exit(7)
out['fork'] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
out['clone_newuser'] = attempt(CLONE, NEWUSER | 17, 0, 0, 0, 0)
out['clone3'] = attempt(CLONE3, 0, 0)
print(json.dumps(out))
"""
    code = code.replace("CLONE3", str(seccomp.CLONE3[COLUMN])).replace("CLONE", str(seccomp.CLONE[COLUMN]))
    code = code.replace("NEWUSER", str(CLONE_NEWUSER))
    assert run_confined(code) == {
        "thread": "ran", "subprocess": "hi", "fork": 7, "clone_newuser": "EPERM", "clone3": "ENOSYS"
    }  # fmt: skip


def test_template_variant_opens_only_the_exact_calls() -> None:
    flags = 0x10000000 | 0x20000 | 0x20000000 | 0x08000000 | 0x04000000  # the keepers' namespaces
    code = f"""
print(json.dumps({{
    'unshare_other': attempt(NUMBERS['unshare'], {CLONE_NEWUSER}),
    'mount_exact_flags': attempt(NUMBERS['mount'], 1, 1, 1, 6, 1),  # let through: the kernel's own EFAULT
    'mount_other_flags': attempt(NUMBERS['mount'], 1, 1, 1, 7, 1),
    'ptrace': attempt(NUMBERS['ptrace']),
}}))
"""
    results = run_confined(code, (flags,), (6, 14))
    assert results == {"unshare_other": "EPERM", "mount_exact_flags": "EFAULT", "mount_other_flags": "EPERM",
                       "ptrace": "EPERM"}  # fmt: skip


HANDLER = f"""
NUMBERS = {NUMBERS!r}
{ATTEMPTS}
AT_INIT = attempts()

def handler(event, context):
    return {{'init': AT_INIT, 'handler': attempts(), 'new_user_namespace': attempt(NUMBERS['unshare'], {CLONE_NEWUSER})}}
"""


def test_handler_gets_eperm_and_the_rest_is_fine(lam, deploy) -> None:  # type: ignore[no-untyped-def]
    probing = deploy({"app.py": HANDLER})
    bystander = deploy({"app.py": "def handler(event, context):\n    return 'still here'\n"})
    result = json.loads(lam.invoke(FunctionName=probing)["Payload"].read())
    assert result["init"] == dict.fromkeys(NUMBERS, "EPERM")
    assert result["handler"] == dict.fromkeys(NUMBERS, "EPERM")
    assert result["new_user_namespace"] == "EPERM"
    assert json.loads(lam.invoke(FunctionName=bystander)["Payload"].read()) == "still here"
    assert json.loads(lam.invoke(FunctionName=probing)["Payload"].read())["handler"]["ptrace"] == "EPERM"


def test_snapstart_template_is_filtered_before_init(lam, deploy) -> None:  # type: ignore[no-untyped-def]
    name = deploy({"app.py": HANDLER}, SnapStart={"ApplyOn": "PublishedVersions"})
    version = lam.publish_version(FunctionName=name)["Version"]
    waiter = lam.get_waiter("published_version_active")
    waiter.wait(FunctionName=name, Qualifier=version, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    result = json.loads(lam.invoke(FunctionName=name, Qualifier=version)["Payload"].read())
    assert result["init"] == dict.fromkeys(NUMBERS, "EPERM")  # init ran in the template, under its filter
    assert result["handler"] == dict.fromkeys(NUMBERS, "EPERM")
    assert result["new_user_namespace"] == "EPERM"
