"""The decision API against its own OpenAPI document: valid, and every answer matches it.

The document is generated from the API's typed models; it is validated with
openapi-spec-validator, and Schemathesis sends requests generated from it
(valid and invalid) to a real ``meterwall serve`` on loopback, checking that
no request gets a 500 and that every answer's status, content type and body
are the documented ones.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from meterwall.app import create_app
from tests.backends import free_port
from tests.factories import make_settings
from tests.integration.test_ops_server import environment, seed

EXAMPLES = int(os.environ.get("METERWALL_FUZZ_EXAMPLES", "60"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``meterwall serve`` with the test articles, on a free loopback port."""
    folder = tmp_path_factory.mktemp("openapi")
    seed(folder)
    port = free_port()
    log = folder / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "meterwall", "serve", "--port", str(port)],
        env=environment(folder, METERWALL_PUBLIC_URL=f"http://127.0.0.1:{port}"),
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 45
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(30)


def test_the_document_is_valid_openapi(tmp_path: Path) -> None:
    from meterwall.web.openapi import openapi

    app = create_app(make_settings(tmp_path))
    document = openapi("https://news.example.com", app.state.services.identity.name)
    validate(document)
    schemas = document["components"]["schemas"]
    assert {"AccessRequest", "DecisionResponse", "ArticleResponse", "ErrorOut"} <= set(schemas)
    responses = document["paths"]["/api/v1/article"]["post"]["responses"]
    assert {"200", "400", "404", "413", "502", "503"} <= set(responses)
    assert document["components"]["securitySchemes"]["readerCookie"]["in"] == "cookie"
    article = schemas["ArticleIn"]["properties"]
    assert article["id"]["maxLength"] == 2048
    assert article["tags"]["maxItems"] == 100


def test_every_answer_matches_the_document(api_server: str) -> None:
    """Requests generated from the document, valid and invalid, for every operation.

    Driven through Schemathesis's Hypothesis strategies rather than its pytest
    plugin, so the check does not depend on pytest's internals.
    """
    schema = schemathesis.openapi.from_url(f"{api_server}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {"/api/v1/access", "/api/v1/article"}
    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def answers_by_the_document(case: Any) -> None:
            case.call_and_validate(checks=CHECKS)

        answers_by_the_document()
