"""Function logs: one stream per execution environment, grouped per function."""
