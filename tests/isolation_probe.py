"""A handler that reports what a function can see and do from inside its execution environment.

Shared by the isolation tests of fresh environments (``sandbox/``) and of environments restored from a
SnapStart snapshot (``sandbox/snapstart/``), so both are held to the same checks.
"""

PROBE = """
import errno, json, os, socket

def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))

def status(field):
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'):
            return line.split()[1]

def write(path):
    with open(path, 'w') as handle:
        handle.write('x')

def handler(event, context):
    found = []
    for top in ('/var', '/opt', '/etc', '/usr/local', '/home', '/root', '/srv', '/mnt'):
        for folder, _, files in os.walk(top):
            found += [os.path.join(folder, f) for f in files if f == event['secret_name']]
    return {
        'uid': os.getuid(), 'gid': os.getgid(), 'euid': os.geteuid(),
        'cap_eff': status('CapEff'), 'cap_prm': status('CapPrm'), 'cap_bnd': status('CapBnd'),
        'no_new_privs': status('NoNewPrivs'),
        'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),
        'signal_host': attempt(lambda: os.kill(event['server_pid'], 0)),
        'write_task': attempt(lambda: write('/var/task/new.py')),
        'write_root': attempt(lambda: write('/evil')),
        'write_tmp': attempt(lambda: write('/tmp/fine')),
        'data_dir_visible': os.path.exists(event['data_dir']),
        'root_home': os.path.exists('/root/.bashrc') or os.path.exists('/root/.pyenv'),
        'found_secret': found,
        'hostname_change': attempt(lambda: socket.sethostname('evil')),
        'top': sorted(os.listdir('/')),
        'nofile': __import__('resource').getrlimit(__import__('resource').RLIMIT_NOFILE),
    }
"""


class IsolationChecks:
    """What every execution environment must show; a test class inherits these with its own ``probe``
    fixture (the PROBE handler's answer)."""

    def test_runs_unprivileged(self, probe):  # type: ignore[no-untyped-def]
        assert probe["uid"] != 0 and probe["euid"] != 0 and probe["gid"] != 0
        assert int(probe["cap_eff"], 16) == 0 and int(probe["cap_prm"], 16) == 0 and int(probe["cap_bnd"], 16) == 0
        assert probe["no_new_privs"] == "1"
        assert probe["nofile"] == [1024, 1024]

    def test_sees_only_its_own_processes(self, probe):  # type: ignore[no-untyped-def]
        assert probe["pids"][0] == 1 and len(probe["pids"]) < 5
        assert probe["signal_host"] == "ESRCH"
        assert probe["hostname_change"] == "EPERM"

    def test_file_system_is_read_only_except_tmp(self, probe):  # type: ignore[no-untyped-def]
        assert probe["write_task"] == "EROFS"
        assert probe["write_root"] == "EROFS"
        assert probe["write_tmp"] == "allowed"

    def test_nothing_of_the_host_or_other_functions_is_visible(self, probe):  # type: ignore[no-untyped-def]
        assert probe["found_secret"] == []
        assert probe["data_dir_visible"] is False
        assert probe["root_home"] is False
        assert set(probe["top"]) <= {
            "bin",
            "dev",
            "etc",
            "lib",
            "lib32",
            "lib64",
            "libx32",
            "opt",
            "proc",
            "sbin",
            "tmp",
            "usr",
            "var",
        }
