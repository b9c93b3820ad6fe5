"""The web app's HTTP API checked by schemathesis against its own OpenAPI spec, on a real `socio serve`.

Schemathesis generates requests for every operation in ``/openapi.json`` (a few examples each, to keep the run
short) and checks every response: no server error, a documented status code, content type and headers, and a body
that matches the response schema. (Its pytest loader, ``schemathesis.pytest.from_fixture``, does not run under
pytest 9, so the cases are drawn with Hypothesis from each operation's strategy.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.fixtures.web_serve import socio_serve, write_scene_folders

EXAMPLES = 10
"""Generated requests per operation."""


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    base = tmp_path_factory.mktemp("web-schema")
    write_scene_folders(base / "root")
    with socio_serve(base / "root", base / "out") as s:
        yield schemathesis.openapi.from_url(s.url + "openapi.json")


def test_every_operation_keeps_to_the_openapi_spec(api_schema):
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert {f"{o.method.upper()} {o.path}" for o in operations} >= {
        "GET /api/health", "GET /api/scenes", "POST /api/scenes", "POST /api/ask", "GET /api/answers/{answer_id}/trace",
        "GET /api/answers/{answer_id}/download/{fmt}", "GET /api/scenes/{scene_id}/layers/{layer}",
    }  # fmt: skip
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate])  # fmt: skip
        def check(case):
            case.call_and_validate(timeout=60)

        check()
