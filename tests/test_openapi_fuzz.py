"""schemathesis against the generated OpenAPI document: no 5xx, answers match the schema.

schemathesis' pytest fixture loader does not run under this pytest, so each
operation's hypothesis strategy is driven from a plain test.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings


def test_api_conforms_to_its_openapi_document(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            case.call_and_validate()

        check()
