"""Ways other than the Lambda API to invoke a function: HTTP endpoints, schedules."""
