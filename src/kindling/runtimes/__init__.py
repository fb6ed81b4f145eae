"""Language runtimes: which interpreters serve which Lambda runtime names, and the code that
runs inside the sandbox (``python/``, standard library only)."""
