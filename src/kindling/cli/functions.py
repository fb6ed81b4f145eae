"""``kindling ls`` and ``kindling rm``: the functions on a server."""

from __future__ import annotations

import click
from rich.table import Table

from .common import Clients, client_command, out
from .triggers import Kindling, summary


@click.command()
@client_command
def ls(clients: Clients) -> None:
    """List the functions, one row each, with what can trigger them (`kindling triggers NAME` for more)."""
    functions = [
        function for page in clients.lam.get_paginator("list_functions").paginate() for function in page["Functions"]
    ]
    if not functions:
        out.print("no functions yet: `kindling deploy DIR` creates one", markup=False)
        return
    kindling = Kindling.read(clients)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("NAME", "RUNTIME", "HANDLER", "MEMORY", "TIMEOUT", "CODE", "MODIFIED", "TRIGGERS"):
        table.add_column(column, justify="right" if column in ("MEMORY", "TIMEOUT", "CODE") else "left")
    for function in sorted(functions, key=lambda f: f["FunctionName"]):
        table.add_row(
            function["FunctionName"],
            function.get("Runtime", "-"),
            function.get("Handler", "-"),
            f"{function['MemorySize']} MB",
            f"{function['Timeout']} s",
            f"{function['CodeSize'] / 1024:.1f} KB",
            function["LastModified"][:19].replace("T", " "),
            summary(clients, function["FunctionName"], kindling),
        )
    out.print(table)


@click.command()
@click.argument("name")
@client_command
def rm(clients: Clients, name: str) -> None:
    """Delete function NAME (its logs stay, as on Lambda)."""
    clients.lam.delete_function(FunctionName=name)
    out.print(f"removed {name}", markup=False)
