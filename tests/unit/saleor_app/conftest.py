"""Saleor schemas, built once per session (a 1 MB SDL takes a second or two to build)."""

from __future__ import annotations

from pathlib import Path

import graphql
import pytest

_BUILT: dict[Path, graphql.GraphQLSchema] = {}


@pytest.fixture(params=["3.20", "3.23"])
def saleor_schema(request: pytest.FixtureRequest, saleor_schema_dir: Path) -> graphql.GraphQLSchema:
    path = saleor_schema_dir / f"schema-{request.param}.graphql"
    if path not in _BUILT:
        _BUILT[path] = graphql.build_schema(path.read_text(encoding="utf-8"))
    return _BUILT[path]
