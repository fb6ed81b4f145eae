"""Metadata persistence (SQLite): the only code that knows the schema."""
