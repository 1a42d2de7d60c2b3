"""The OpenAPI 3 document, generated from the canned-query files."""

from __future__ import annotations

from kg.formats import RESULTS
from kg.queries import LANG_TAG, CannedQuery, Param

_SCHEMAS = {
    "iri": {"type": "string", "format": "uri"},
    "string": {"type": "string"},
    "lang-string": {"type": "string", "pattern": f"^(.|\\n)*@{LANG_TAG}$"},
    "integer": {"type": "integer"},
    "date": {"type": "string", "format": "date"},
    "year": {"type": "string", "pattern": "^-?[0-9]{4}$"},
}

# SPARQL 1.1 Query Results JSON Format, for SELECT answers.
_TERM = {
    "type": "object",
    "required": ["type", "value"],
    "properties": {
        "type": {"type": "string", "enum": ["uri", "literal", "bnode", "triple"]},
        "value": {"type": "string"},
        "datatype": {"type": "string"},
        "xml:lang": {"type": "string"},
    },
}
_RESULTS = {
    "type": "object",
    "required": ["head", "results"],
    "properties": {
        "head": {"type": "object", "properties": {"vars": {"type": "array", "items": {"type": "string"}}}},
        "results": {
            "type": "object",
            "properties": {
                "bindings": {"type": "array", "items": {"type": "object", "additionalProperties": _TERM}}
            },
        },
    },
}
_ERROR = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
}


def _parameter(param: Param) -> dict:
    schema = dict(_SCHEMAS[param.type])
    if param.values:
        schema = {"type": "string", "enum": list(param.values)}
    if param.default is not None:
        schema["default"] = int(param.default) if param.type == "integer" else param.default
    elif param.required and schema.get("type") == "string":
        schema["minLength"] = 1  # an empty value for a required parameter is refused
    out = {
        "name": param.name,
        "in": "query",
        "required": param.required and param.default is None,
        "description": param.description or f"A value of type {param.type}.",
        "schema": schema,
    }
    if param.example is not None:
        out["example"] = int(param.example) if param.type == "integer" else param.example
    return out


_COMMON = [
    {
        "name": "format",
        "in": "query",
        "required": False,
        "description": "Overrides the Accept header.",
        "schema": {"type": "string", "enum": [f.name for f in RESULTS.values()]},
    },
    {
        "name": "infer",
        "in": "query",
        "required": False,
        "description": "false: answer from the ontology and asserted data only.",
        "schema": {"type": "string", "enum": ["true", "false"], "default": "true"},
    },
]


def _content(media_type: str) -> dict:
    """The schema of an answer: SPARQL Results JSON is described, the other formats are text."""
    if media_type == "application/sparql-results+json":
        return {"schema": {"$ref": "#/components/schemas/Results"}}
    return {"schema": {"type": "string"}}


def _errors() -> dict:
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        str(code): {"description": why, "content": content}
        for code, why in (
            (400, "A parameter is missing, unknown or of the wrong type."),
            (406, "None of the accepted formats can carry the answer."),
            (503, "The query ran past the time limit and was cancelled."),
        )
    }


def openapi_document(queries: dict[str, CannedQuery], server: str) -> dict:
    paths = {}
    for query in queries.values():
        paths[f"/api/queries/{query.name}"] = {
            "get": {
                "operationId": query.name.replace("-", "_"),
                "summary": query.title,
                "description": query.description or query.title,
                "tags": list(query.tags) or ["queries"],
                "parameters": [_parameter(p) for p in query.params] + _COMMON,
                "responses": {
                    "200": {
                        "description": "The answer, in the negotiated format.",
                        "content": {media: _content(media) for media in RESULTS},
                    },
                    "304": {"description": "Not modified (If-None-Match matched the ETag)."},
                    **_errors(),
                },
            }
        }
    paths["/api/queries"] = {
        "get": {
            "operationId": "list_queries",
            "summary": "List the canned queries with their parameters",
            "tags": ["catalogue"],
            "responses": {
                "200": {
                    "description": "The catalogue.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["queries"],
                                "properties": {"queries": {"type": "array", "items": {"type": "object"}}},
                            }
                        }
                    },
                }
            },
        }
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "hos-kg canned queries",
            "version": "0.1.0",
            "description": "Questions about meetings between heads of state, each a SPARQL file with typed "
            "parameters. The same data answers arbitrary SPARQL at /sparql.",
            "license": {"name": "CC BY 4.0 (data)", "url": "https://creativecommons.org/licenses/by/4.0/"},
        },
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"schemas": {"Results": _RESULTS, "Error": _ERROR}},
    }
