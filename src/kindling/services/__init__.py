"""AWS services on Kindling's port: moto in process behind a thin adapter, with its state kept on disk."""
