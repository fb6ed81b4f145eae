"""The README's tour, run as written (only the endpoint changes): a newcomer's first steps must work."""

from __future__ import annotations

import re
import subprocess
import sys

from support import ROOT


def _blocks(language: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    tour = text.split("## A 30-second tour", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", tour, re.S)


def test_the_boto3_tour(server, lam):
    (code,) = _blocks("python")
    script = code.replace("http://127.0.0.1:9000", server.endpoint)
    try:
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "{'hello': 'Kindling'}"
    finally:
        lam.delete_function(FunctionName="hello")


def test_the_aws_cli_tour(server, lam, tmp_path):
    (code,) = _blocks("sh")
    script = code.replace("http://127.0.0.1:9000", server.endpoint).replace(
        ".venv-awscli/bin/aws", str(ROOT / ".venv-awscli" / "bin" / "aws")
    )
    try:
        run = subprocess.run(["bash", "-ec", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert run.returncode == 0, run.stderr
        assert '{"hello": "CLI"}' in run.stdout
        assert '"FunctionName": "hello2"' in run.stdout
    finally:
        lam.delete_function(FunctionName="hello2")
