"""A minimal client for the Dagster webserver's GraphQL API (the one the UI itself uses)."""

from __future__ import annotations

from typing import Any

import requests


class GraphQLError(RuntimeError):
    """The endpoint answered, but with GraphQL errors instead of data."""


class GraphQLClient:
    """POSTs documents to ``<webserver>/graphql`` and returns their ``data``."""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, document: str, timeout: float = 60.0, **variables: Any) -> dict[str, Any]:
        """``data`` of the answer; raises :class:`GraphQLError` on GraphQL errors, ``requests`` errors on HTTP ones."""
        response = requests.post(self.url, json={"query": document, "variables": variables}, timeout=timeout)
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            messages = "; ".join(error.get("message", str(error)) for error in body["errors"])
            raise GraphQLError(f"{self.url}: {messages}")
        return body["data"]


def expect_type(value: dict[str, Any], typename: str) -> dict[str, Any]:
    """``value`` if its ``__typename`` is ``typename``; else fail with the error union member it is."""
    if value.get("__typename") != typename:
        raise AssertionError(f"expected {typename}, got {value.get('__typename')}: {value.get('message', value)}")
    return value
