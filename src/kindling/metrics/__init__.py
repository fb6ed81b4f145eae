"""Metrics, alarms, cost and the Prometheus view: what Lambda records about every invocation."""
