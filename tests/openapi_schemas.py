"""Cekura's published schemas as JSON-Schema validators, with the generator quirks of contract §1.6
and §12.7 fixed, and OpenAPI's readOnly/writeOnly rule for required properties applied."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SPEC_PATH = Path(__file__).resolve().parent / "reference" / "cekura-openapi-subset.json"
FIXTURES_PATH = SPEC_PATH.with_name("cekura-fixtures.json")


def _fix_quirks(node: Any) -> Any:
    """`oneOf` holding `{}` means "anything or null" (use anyOf); `nullable: true` also allows null."""
    if isinstance(node, dict):
        node = {k: _fix_quirks(v) for k, v in node.items()}
        if "oneOf" in node and any(branch == {} for branch in node["oneOf"]):
            node["anyOf"] = node.pop("oneOf")
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"] if isinstance(node["type"], str) else node["type"]
        return node
    if isinstance(node, list):
        return [_fix_quirks(v) for v in node]
    return node


# §12.7: these items list every key as required although each is "present if" its type matches,
# and §7 documents `score: null` for N/A; emit-the-documented-shape, do not demand every key.
_LOOSE_REQUIRED = (
    "CallLogListSerializerMetrics",
    "CallLogListSerializerMetricsWithExplanation",
    "CallLogTranscriptObject",
)


def _fix_call_log_items(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = spec["components"]["schemas"]
    for name in _LOOSE_REQUIRED:
        schemas[name].pop("required", None)
        score = schemas[name]["properties"].get("score")
        if score is not None:
            score["type"] = [score["type"], "null"]
    return spec


def _drop_required(node: Any, flag: str) -> Any:
    """OpenAPI: a required property marked `flag` (readOnly or writeOnly) is required only in the
    other direction (TestSetDetail requires the write-only `voice_recording`)."""
    if isinstance(node, dict):
        node = {k: _drop_required(v, flag) for k, v in node.items()}
        props = node.get("properties")
        if isinstance(props, dict) and isinstance(node.get("required"), list):
            node["required"] = [
                r for r in node["required"] if not (props.get(r) or {}).get(flag, False)
            ]
        return node
    if isinstance(node, list):
        return [_drop_required(v, flag) for v in node]
    return node


@cache
def _spec(direction: str = "response") -> dict[str, Any]:
    spec = _fix_call_log_items(_fix_quirks(json.loads(SPEC_PATH.read_text())))
    return _drop_required(spec, "writeOnly" if direction == "response" else "readOnly")


@cache
def fixtures() -> dict[str, Any]:
    """The example bodies of `cekura-fixtures.json`."""
    return json.loads(FIXTURES_PATH.read_text())


def _validator(schema: dict[str, Any], direction: str = "response") -> Draft202012Validator:
    spec = _spec(direction)
    root = Resource.from_contents(
        {**spec, "$schema": "https://json-schema.org/draft/2020-12/schema"}
    )
    registry = Registry().with_resource("urn:cekura-openapi", root)
    wrapped = {"$schema": "https://json-schema.org/draft/2020-12/schema", **copy.deepcopy(schema)}
    text = json.dumps(wrapped).replace('"#/components/', '"urn:cekura-openapi#/components/')
    return Draft202012Validator(json.loads(text), registry=registry)


def _operation(method: str, path: str) -> dict[str, Any]:
    return _spec()["paths"][path][method.lower()]


def response_errors(method: str, path: str, status: int, body: Any) -> list[str]:
    """Messages for every way `body` breaks the published response schema (empty when it is valid)."""
    content = _operation(method, path)["responses"][str(status)].get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        raise LookupError(f"{method} {path} {status} has no published schema (generator fallback)")
    return [e.message for e in _validator(schema).iter_errors(body)]


def request_errors(method: str, path: str, body: Any) -> list[str]:
    """Messages for every way `body` breaks the published request schema (empty when it is valid)."""
    schema = _operation(method, path)["requestBody"]["content"]["application/json"]["schema"]
    return [e.message for e in _validator(schema, "request").iter_errors(body)]


def component_errors(name: str, body: Any) -> list[str]:
    """Messages for every way `body` breaks the named component schema."""
    return [
        e.message for e in _validator({"$ref": f"#/components/schemas/{name}"}).iter_errors(body)
    ]
