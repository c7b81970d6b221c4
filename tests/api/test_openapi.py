"""/docs describes every answer: each 2xx JSON response of each route has a schema that says something."""

from __future__ import annotations

from typing import Any

from api.app import create_app
from gis.settings import Settings


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _says_nothing(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    schema = _resolve(spec, schema)
    if any(k in schema for k in ("anyOf", "oneOf", "allOf", "enum", "const")):
        return False
    kind = schema.get("type")
    if kind == "array":
        return _says_nothing(spec, schema.get("items", {}))
    if kind in ("string", "integer", "number", "boolean"):
        return False
    extra = schema.get("additionalProperties")
    return not schema.get("properties") and (extra is None or extra is True or extra == {})


def test_every_json_answer_has_a_schema(settings: Settings) -> None:
    spec = create_app(settings).openapi()
    vague = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for status, answer in op["responses"].items():
                if not status.startswith("2"):
                    continue
                for media, content in answer.get("content", {}).items():
                    if "json" in media and _says_nothing(spec, content.get("schema", {})):
                        vague.append(f"{method.upper()} {path} {status} {media}")
    assert vague == []


def test_naive_dates_are_documented_as_beijing_time(settings: Settings) -> None:
    spec = create_app(settings).openapi()
    at = next(p for p in spec["paths"]["/v1/cells"]["get"]["parameters"] if p["name"] == "at")
    assert "Asia/Shanghai" in at["description"]
    body = spec["components"]["schemas"]["TicketCreate"]["properties"]["opened_at"]
    assert "Asia/Shanghai" in body["description"]
