"""The ``kindling`` command."""
