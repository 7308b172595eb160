"""A plain Python client for the WHOOP developer API v2 (no Dagster imports here).

The package holds the endpoint registry, OAuth2 and token storage, the HTTP
client with pagination, rate limiting and retries, and an emulator of the API
that the demo, the tests and the benchmarks talk to over real HTTP.
"""
