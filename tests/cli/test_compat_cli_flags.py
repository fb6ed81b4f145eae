"""``sam deploy``'s flags: ``-t``/``--template-file`` name the template for ``kindling deploy`` and ``kindling dev``."""

from __future__ import annotations

import contextlib
import json

from cli_support import Lines

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Flagged:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: {name}
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
"""


def project(root, name: str):  # type: ignore[no-untyped-def]
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def handler(event, context):\n    return 'v1'\n")
    template = root / "stack.yaml"  # not a name deploy would find in a folder: only the flag can point at it
    template.write_text(TEMPLATE.format(name=name))
    return template


def test_deploy_takes_the_template_as_t_or_template_file(cli, lam, tmp_path):
    template = project(tmp_path / "flags", "compat-flags")
    try:
        created = cli("deploy", "-t", str(template)).stdout.splitlines()
        assert created[0].startswith("created compat-flags (python3.12, app.handler")
        (template.parent / "src" / "app.py").write_text("def handler(event, context):\n    return 'v2'\n")
        updated = cli("deploy", "--template-file", str(template)).stdout.splitlines()
        assert updated[0].startswith("updated compat-flags: code")
        assert json.load(lam.invoke(FunctionName="compat-flags")["Payload"]) == "v2"
        both = cli("deploy", str(template.parent), "-t", str(template), check=False)
        assert both.returncode == 1 and "not both" in both.stderr
    finally:
        with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
            lam.delete_function(FunctionName="compat-flags")


def test_dev_takes_the_template_as_t(cli, lam, tmp_path):
    template = project(tmp_path / "devflags", "compat-dev-flags")
    dev = Lines(cli.start("dev", "-t", str(template)))
    try:
        dev.wait_for(lambda line: line.startswith("watching "))
        (template.parent / "src" / "app.py").write_text("def handler(event, context):\n    return 'v3'\n")
        dev.wait_for(lambda line: line.startswith("updated compat-dev-flags in "))
        assert json.load(lam.invoke(FunctionName="compat-dev-flags")["Payload"]) == "v3"
    finally:
        dev.stop()
        with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
            lam.delete_function(FunctionName="compat-dev-flags")
