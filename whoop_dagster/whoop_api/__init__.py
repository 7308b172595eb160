"""A plain Python client for the WHOOP developer API v2 (no Dagster imports here).

The package holds the endpoint registry, OAuth2 and token storage, and the HTTP
client with pagination, rate limiting and retries. The emulator it talks to in demo
mode and in tests lives beside it, in :mod:`whoop_dagster.emulator`.
"""
