"""Shared by every function of the stack through the SharedLayer (found at /opt/python)."""


def greet(name: str) -> str:
    return f"Hello, {name}!"
