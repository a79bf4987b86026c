"""Every GraphQL document the app sends, and every manifest subscription, is valid on Saleor
3.20 and 3.23 (graphql-core against the real schemas)."""

from __future__ import annotations

import graphql
import pytest

from refunds_plugin.saleor import graphql as documents
from refunds_plugin.saleor.manifest import manifest

SENT = {name: getattr(documents, name) for name in documents.DOCUMENTS}
SUBSCRIPTIONS = {
    hook["name"]: hook["query"] for hook in manifest("https://refunds.example.com")["webhooks"]
}


def test_the_document_list_names_every_constant_the_app_sends():
    constants = {
        name for name, value in vars(documents).items()
        if name.isupper() and isinstance(value, str)
        and value.lstrip().startswith(("query", "mutation"))
    }
    assert constants == set(SENT)


@pytest.mark.parametrize("name", sorted(SENT))
def test_each_document_validates_against_the_saleor_schema(saleor_schema, name):
    errors = graphql.validate(saleor_schema, graphql.parse(SENT[name]))
    assert [e.message for e in errors] == []


@pytest.mark.parametrize("name", sorted(SUBSCRIPTIONS))
def test_each_manifest_subscription_validates_against_the_saleor_schema(saleor_schema, name):
    errors = graphql.validate(saleor_schema, graphql.parse(SUBSCRIPTIONS[name]))
    assert [e.message for e in errors] == []


def test_a_misspelt_field_would_be_caught(saleor_schema):
    broken = documents.GRANT_REFUND.replace("grantedRefund {", "grantedRefunds {")
    assert graphql.validate(saleor_schema, graphql.parse(broken)) != []
