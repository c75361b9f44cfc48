"""The decision API's OpenAPI 3.1 document, generated from its typed models.

Every schema comes from :mod:`meterwall.web.api_models` (request bodies as
validated, answers as serialised), so the document says exactly what the
handlers accept and send; only the paths, statuses and security schemes are
written here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from meterwall.web.api_models import (
    MAX_REQUEST_BYTES,
    AccessRequest,
    ArticleResponse,
    DecisionResponse,
    ErrorOut,
)

_REF = "#/components/schemas/{model}"
_MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (AccessRequest, "validation"),
    (DecisionResponse, "serialization"),
    (ArticleResponse, "serialization"),
    (ErrorOut, "serialization"),
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "The body is not a JSON object of the documented shape; `detail` says why.",
        404: "No article has this id (in meterwall's store, or on the upstream site).",
        413: f"The body is larger than {MAX_REQUEST_BYTES} bytes.",
        502: "The upstream site (proxy mode) did not answer.",
        503: "A store is down or slow; try again after `Retry-After` seconds.",
    }
    return {str(s): _json(ErrorOut, reasons[s]) for s in statuses}


def openapi(server: str, cookie: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the decision API served at ``server``.

    ``cookie`` is the reader cookie's name, one of the two ways to name a reader.
    """
    _, schemas = models_json_schema(_MODELS, ref_template=_REF)
    body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": _ref(AccessRequest),
                "examples": {
                    "cookie": {
                        "summary": "A reader named by the cookie",
                        "value": {"article": {"id": "https://news.example.com/2026/12/vote/"}},
                    },
                    "token": {
                        "summary": "A reader named by a token (first call: null)",
                        "value": {
                            "article": {"id": "https://news.example.com/2026/12/vote/"},
                            "reader_token": None,
                        },
                    },
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "meterwall decision API",
            "version": "1",
            "description": (
                "Ask what a reader may see of an article. The reader is named by the "
                "meterwall cookie, or by `reader_token` (send it, even as null, to use tokens; "
                "the answer then carries the token to keep). Answers never contain gated text: "
                "`/api/v1/article` returns `body_html` only when the decision allows. "
                f"Request bodies are at most {MAX_REQUEST_BYTES} bytes."
            ),
        },
        "servers": [{"url": server}],
        "security": [{"readerCookie": []}, {}],
        "paths": {
            "/api/v1/access": {
                "post": {
                    "operationId": "decideAccess",
                    "summary": "Decide access and count the meter; no article text.",
                    "requestBody": body,
                    "responses": {
                        "200": _json(DecisionResponse, "The decision, meter, copy and offers."),
                        **_errors(400, 413, 503),
                    },
                }
            },
            "/api/v1/article": {
                "post": {
                    "operationId": "articleForReader",
                    "summary": "The decision, with the body only when the reader may read it.",
                    "requestBody": body,
                    "responses": {
                        "200": _json(
                            ArticleResponse, "The decision, the teaser and (when allowed) the body."
                        ),
                        **_errors(400, 404, 413, 502, 503),
                    },
                }
            },
        },
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "readerCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": cookie,
                    "description": (
                        "meterwall's signed reader cookie, for callers on the same site; "
                        "servers and edge functions send `reader_token` in the body instead."
                    ),
                }
            },
        },
    }
