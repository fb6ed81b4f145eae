"""Kindling: a self-hosted serverless platform that reproduces AWS Lambda."""

__version__ = "0.1.0"
