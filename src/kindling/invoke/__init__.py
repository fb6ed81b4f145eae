"""Invocation: placing events on execution environments and reporting what happened."""
