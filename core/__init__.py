"""Shared pieces every app stands on: the settings knobs (conf), the breaker, the Redis client,
sealing, the client's address, the error envelope and its OpenAPI helpers, the JSON renderer,
parser and content negotiation, the JSON log format. It imports no app and not the wiring package
(``cheershare``); import-linter keeps it so (pyproject.toml)."""
