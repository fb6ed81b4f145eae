"""Asynchronous invocation: the event queue behind ``InvocationType=Event``."""
