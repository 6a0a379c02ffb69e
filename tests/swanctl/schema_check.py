"""A small JSON Schema (2020-12) validator for the keywords swanctl's schema uses.

The test extras have no jsonschema package; this covers type, const, enum,
properties/required/additionalProperties, items, minimum/maximum, oneOf and
local $ref -- and refuses any other keyword, so the schema cannot quietly
grow beyond what is checked.
"""

from __future__ import annotations

from typing import Any

KNOWN = {"$schema", "$id", "$defs", "$ref", "title", "description", "type", "const", "enum", "properties",
         "required", "additionalProperties", "items", "minimum", "maximum", "oneOf"}
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


class SchemaError(AssertionError):
    pass


def _is(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, TYPES[name])


def validate(value: Any, schema: dict, root: dict | None = None, path: str = "$") -> None:
    root = root or schema
    unknown = set(schema) - KNOWN
    if unknown:
        raise SchemaError(f"{path}: schema uses unsupported keywords {sorted(unknown)}")
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise SchemaError(f"{path}: only local $ref supported: {ref}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        validate(value, target, root, path)
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, t) for t in names):
            raise SchemaError(f"{path}: {value!r} is not of type {names}")
    if "const" in schema and value != schema["const"]:
        raise SchemaError(f"{path}: {value!r} != const {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"{path}: {value!r} not in {schema['enum']}")
    if "minimum" in schema and _is(value, "number") and value < schema["minimum"]:
        raise SchemaError(f"{path}: {value} < {schema['minimum']}")
    if "maximum" in schema and _is(value, "number") and value > schema["maximum"]:
        raise SchemaError(f"{path}: {value} > {schema['maximum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                raise SchemaError(f"{path}: missing required {key!r}")
        for key, item in value.items():
            if key in props:
                validate(item, props[key], root, f"{path}.{key}")
            elif "additionalProperties" in schema:
                extra = schema["additionalProperties"]
                if extra is False:
                    raise SchemaError(f"{path}: unexpected property {key!r}")
                if isinstance(extra, dict):
                    validate(item, extra, root, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], root, f"{path}[{i}]")
    if "oneOf" in schema:
        matches = 0
        errors = []
        for sub in schema["oneOf"]:
            try:
                validate(value, sub, root, path)
                matches += 1
            except SchemaError as e:
                errors.append(str(e))
        if matches != 1:
            raise SchemaError(f"{path}: matches {matches} of oneOf (errors: {errors[:3]})")
