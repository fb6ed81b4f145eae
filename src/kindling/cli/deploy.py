"""``kindling deploy PATH``: a folder becomes a function, or a SAM template's resources are deployed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .common import Clients, CliError, client_command, out
from .functions_deploy import chosen_path, deploy_directory, path_argument, settings_from, settings_options
from .sam import deploy_template, template_in


@click.command()
@path_argument
@settings_options
@client_command
def deploy(clients: Clients, path: Path | None, template_file: Path | None, **options: Any) -> None:
    """Zip the folder PATH and create or update its function (unchanged code is not uploaded again);
    or deploy the functions and schedules of a SAM template (PATH or -t/--template-file is the template,
    or PATH a folder with one). Without PATH, the current folder."""
    path = chosen_path(path, template_file)
    template = template_in(path)
    if template is None:
        out.print(deploy_directory(clients, path, settings_from(**options)).summary(), markup=False)
        return
    if any(value for value in options.values()):
        raise CliError("--name, --runtime, --handler, --memory, --timeout and --env do not apply to a template",
                       "set them in the template (Properties or Globals.Function)")  # fmt: skip
    deploy_template(clients, template)
