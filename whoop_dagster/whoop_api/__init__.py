"""A plain Python client for the WHOOP developer API v2: endpoint registry, OAuth2, token stores, HTTP (no Dagster)."""
