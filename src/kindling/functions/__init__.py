"""The function service: the rules of the Lambda API for functions and their configuration."""
