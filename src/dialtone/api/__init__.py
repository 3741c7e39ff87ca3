"""The HTTP API (FastAPI): native JSON under /v1."""
