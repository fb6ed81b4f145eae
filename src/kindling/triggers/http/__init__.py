"""Function URLs and route tables: HTTP requests in, Lambda events out, and back."""
