"""The Ruby runtimes: which host ``ruby`` serves ``ruby3.2``/``ruby3.3``/``ruby3.4``, and how it is started.

The interpreter comes from the host (Debian's ``ruby``); Kindling's own Runtime API client,
``bootstrap.rb`` beside this file (standard library only), is bound at ``/var/runtime``. A runtime name
is served only by a Ruby of its version, unless the operator maps it to another interpreter
(``--runtime ruby3.3=/usr/bin/ruby``): then the versions may differ, and the server log says so.
"""

from __future__ import annotations

import functools
import glob
import json
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from ..registry import Runtime, _launched

log = logging.getLogger("kindling.runtimes")
RUBY_RUNTIMES = {"ruby3.2": "3.2", "ruby3.3": "3.3", "ruby3.4": "3.4"}
RUNTIME_DIR = Path(__file__).parent  # bound read-only at /var/runtime
_PROBE = 'require "rbconfig"; print JSON.generate([RUBY_VERSION, RbConfig.ruby, RbConfig::CONFIG["ruby_version"]])'


@dataclass(frozen=True)
class Ruby:
    executable: str  # the real binary, never a link or a shim
    version: str  # "3.1.2"
    abi: str  # the gem directory's name: "3.1.0"

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


@functools.cache
def probe(candidate: str) -> Ruby | None:
    """Ask the interpreter what it is and where it really lives (``/usr/bin/ruby`` links to ``ruby3.1``)."""
    try:
        out = subprocess.run(
            [candidate, "--disable-gems", "-rjson", "-e", _PROBE], capture_output=True, text=True, timeout=20
        )
        version, executable, abi = json.loads(out.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return Ruby(os.path.realpath(executable), version, abi)


def _candidates(minor: str) -> list[str]:
    found = [shutil.which(f"ruby{minor}"), shutil.which("ruby"), "/usr/bin/ruby", "/usr/local/bin/ruby"]
    found += sorted(glob.glob(os.path.expanduser(f"~/.rbenv/versions/{minor}.*/bin/ruby")), reverse=True)
    return list(dict.fromkeys(path for path in found if path and os.access(path, os.X_OK)))


def gem_path(minor: str, ruby: Ruby) -> str:
    """AWS's ``GEM_PATH`` for the runtime's version (``vendor/bundle/ruby/3.3.0`` in the zip, then a layer's
    ``ruby/gems/3.3.0``, then the runtime's own gems); a mapped interpreter of another version also finds
    the gems built for it (``vendor/bundle/ruby/3.1.0``)."""
    abis = list(dict.fromkeys([f"{minor}.0", ruby.abi]))
    paths = [f"/var/task/vendor/bundle/ruby/{abi}" for abi in abis] + [f"/opt/ruby/gems/{abi}" for abi in abis]
    return ":".join([*paths, "/var/runtime", f"/var/runtime/ruby/{minor}.0"])


def runtime(name: str, ruby: Ruby) -> Runtime:
    """``name`` served by ``ruby``: the Python zygote's child isolates itself, then execs ruby on bootstrap.rb."""
    minor = RUBY_RUNTIMES[name]
    launched = _launched(name, ruby.executable, minor, RUNTIME_DIR)
    variables = (
        ("GEM_HOME", "/var/runtime"),
        ("GEM_PATH", gem_path(minor, ruby)),
        ("RUBYLIB", "/var/task:/var/runtime/lib:/opt/ruby/lib"),
    )
    # an interpreter outside /usr keeps its compiled-in paths: bound where it is, not only at /var/lang
    binds = () if launched.prefix == "/usr" else (launched.prefix,)
    command = (ruby.executable, "--disable-gems", "/var/runtime/bootstrap.rb")  # RubyGems loads on demand
    return replace(launched, command=command, binds=binds, variables=variables)


def discover(overrides: dict[str, str]) -> dict[str, Runtime]:
    """The Ruby runtimes this host can serve: a Ruby of the name's version, or the one the operator mapped."""
    found: dict[str, Runtime] = {}
    for name, minor in RUBY_RUNTIMES.items():
        if name in overrides:
            ruby = probe(overrides[name])
            if ruby is None:
                log.warning("--runtime %s=%s: not a Ruby interpreter; %s is not offered", name, overrides[name], name)
                continue
            if ruby.minor != minor:
                log.warning(
                    "%s is served by %s, Ruby %s: the versions differ (mapped with --runtime)",
                    name, ruby.executable, ruby.version,
                )  # fmt: skip
            found[name] = runtime(name, ruby)
            continue
        for candidate in _candidates(minor):
            ruby = probe(candidate)
            if ruby is not None and ruby.minor == minor:
                found[name] = runtime(name, ruby)
                break
    return found


def missing(name: str) -> str:
    """Why ``name`` is not offered, naming the Ruby it needs and the one the host has."""
    minor = RUBY_RUNTIMES[name]
    rubies = [ruby for ruby in map(probe, _candidates(minor)) if ruby is not None]
    if not rubies:
        has = "no Ruby was found on this host (Debian: apt-get install ruby)"
    else:
        has = "this host has " + ", ".join(sorted({f"Ruby {r.version} ({r.executable})" for r in rubies}))
    example = rubies[0].executable if rubies else "/path/to/ruby"
    return (
        f"The runtime {name} needs Ruby {minor} and {has}. Install Ruby {minor}, or map the runtime to "
        f"another interpreter explicitly: kindling server --runtime {name}={example}."
    )
