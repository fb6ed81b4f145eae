"""The operations of botocore's Lambda model that Kindling does not run yet, and the feature each belongs to,
so that a ``NotImplementedException`` says what is missing rather than only which call failed."""

from __future__ import annotations

# a word of the operation's name -> the feature, as the README's "Not implemented yet" names it
FEATURES = {
    "DurableExecution": "durable executions (checkpointed, resumable function runs)",
    "CapacityProvider": "capacity providers (Lambda Managed Instances)",
}


def not_implemented(operation: str) -> str:
    """The message of the 501 answered for ``operation``."""
    for word, feature in FEATURES.items():
        if word in operation:
            return f"Kindling does not implement {feature} yet: {operation} is not available."
    return f"Kindling does not implement {operation} yet."
