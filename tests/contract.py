"""Hold requests to the services' own published documents: the Sheets v4 discovery document and LINE's
OpenAPI document for the Messaging API (both in ``tests/contracts/``, with their source and licence).

A fake written here only finds the mistakes it was written to find. These checks find the others: every
request the fakes receive is checked for its method and path, its query parameters and their enums,
every field name of its body, enums, types, one-of groups and field masks. A request the document does
not allow is answered the way the real service answers it (400), so the run that sent it fails its test.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONTRACTS = Path(__file__).parent / "contracts"
INT32 = range(-(2**31), 2**31)


@dataclass(frozen=True)
class Violation:
    where: str  # the field, parameter or header, as the services name it ("requests[0].updateCells.fields")
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def _at(where: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{where}[{name}]"
    return f"{where}.{name}" if where else name


# Google Sheets: the discovery document -------------------------------------------------------------

# The discovery format has no word for a protobuf oneof; the REST reference names each one "Union field":
# developers.google.com/sheets/api/reference/rest/v4/spreadsheets/request#Request ("Union field kind …
# can be only one of"), …/spreadsheets/other#ExtendedValue ("Union field value"), and
# …/spreadsheets/request#UpdateCellsRequest ("Union field area"). None: every property of the schema.
EXACTLY_ONE: Mapping[str, tuple[str, ...] | None] = {
    "Request": None,
    "UpdateCellsRequest": ("start", "range"),
}
AT_MOST_ONE: Mapping[str, tuple[str, ...] | None] = {"ExtendedValue": None}
# What each `fields` mask is rooted at, from the field's own description in the discovery document
# ("The root is the CellData", "The root `properties` is implied", …). A request with a mask missing here
# fails, so that a new kind of request gets its root written down before it is trusted.
MASK_ROOTS: Mapping[str, str] = {
    # Forms: "updateMask … Only values named in this mask are changed" (UpdateItemRequest: the Item;
    # UpdateFormInfoRequest: "The root `info` is implied"; UpdateSettingsRequest: "The root `settings`").
    "UpdateItemRequest": "Item",
    "UpdateFormInfoRequest": "Info",
    "UpdateSettingsRequest": "FormSettings",
    "UpdateCellsRequest": "CellData",
    "RepeatCellRequest": "CellData",
    "UpdateSheetPropertiesRequest": "SheetProperties",
    "UpdateDimensionPropertiesRequest": "DimensionProperties",
    "UpdateSpreadsheetPropertiesRequest": "SpreadsheetProperties",
    "UpdateProtectedRangeRequest": "ProtectedRange",
}


def _path_pattern(flat_path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", flat_path)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+?)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile("/?" + regex)


class Discovery:
    """A Google API discovery document, as a checker of requests."""

    def __init__(self, document: Mapping[str, Any], *, required_in_descriptions: bool = False) -> None:
        self.schemas: Mapping[str, Any] = document["schemas"]
        # The discovery format has no "required" for body fields. The Forms document writes it in prose:
        # a description starting "Required." (e.g. CreateItemRequest.location, ChoiceQuestion.type).
        self.required_in_descriptions = required_in_descriptions
        self.global_parameters: Mapping[str, Any] = document.get("parameters", {})
        self.methods = sorted(
            ((m["httpMethod"], _path_pattern(m["flatPath"]), m) for m in _methods(document)),
            key=lambda entry: -len(entry[2]["flatPath"]),
        )

    def method(self, http_method: str, path: str) -> Mapping[str, Any] | None:
        return next(
            (m for verb, pattern, m in self.methods if verb == http_method and pattern.fullmatch(path)), None
        )

    def check(
        self, http_method: str, path: str, query: Mapping[str, list[str]], body: Any
    ) -> list[Violation]:
        """`path` as sent (percent-encoded), `query` as parse_qs gives it, `body` as parsed JSON."""
        method = self.method(http_method, path)
        if method is None:
            return [Violation("", f"no method {http_method} {path} in the discovery document")]
        problems = list(self._query(method, query))
        request = method.get("request")
        if request is None:
            if body not in (None, "", b""):
                problems.append(Violation("", f"{method['id']} takes no request body"))
        elif not isinstance(body, dict):
            problems.append(Violation("", "Invalid JSON payload received: the body is not a JSON object"))
        else:
            problems.extend(self.value(body, {"$ref": request["$ref"]}, ""))
        return problems

    def _query(self, method: Mapping[str, Any], query: Mapping[str, list[str]]) -> Iterator[Violation]:
        own = method.get("parameters", {})
        for name, values in query.items():
            spec = own.get(name) or self.global_parameters.get(name)
            if spec is None or spec.get("location") != "query":
                yield Violation(name, f'Unknown name "{name}": Cannot bind query parameter.')
                continue
            if len(values) > 1 and not spec.get("repeated"):
                yield Violation(name, f"{name} is given {len(values)} times but is not repeated")
            for value in values:
                if "enum" in spec and value not in spec["enum"]:
                    yield Violation(name, f"Invalid value at '{name}' (TYPE_ENUM), \"{value}\"")
                if spec.get("type") == "boolean" and value not in ("true", "false"):
                    yield Violation(name, f"Invalid value at '{name}' (TYPE_BOOL), \"{value}\"")
                if spec.get("type") == "integer" and not re.fullmatch(r"-?\d+", value):
                    yield Violation(name, f"Invalid value at '{name}' (TYPE_INT32), \"{value}\"")
            if name == "fields" and "response" in method:
                yield from self.mask(values[0], method["response"]["$ref"], "fields")
        for name, spec in own.items():
            if spec.get("required") and spec.get("location") == "query" and name not in query:
                yield Violation(name, f"{name} is required")

    # The body ----------------------------------------------------------------------------------------

    def value(self, value: Any, schema: Mapping[str, Any], where: str) -> list[Violation]:
        if value is None:
            # Google's APIs read JSON by the proto3 mapping: "null is an accepted value for all field
            # types and treated as the default value" (protobuf.dev, ProtoJSON format). gspread sends it.
            return []
        if "$ref" in schema:
            name = schema["$ref"]
            problems = self.value(value, self.schemas[name], where)
            if not problems and isinstance(value, dict):
                problems.extend(self._rules(name, value, where))
            return problems
        kind = schema.get("type")
        if kind == "object":
            return self._object(value, schema, where)
        if kind == "array":
            if not isinstance(value, list):
                return [Violation(where, f"Invalid value at '{where}': expected a list")]
            return [
                p for i, item in enumerate(value) for p in self.value(item, schema["items"], _at(where, i))
            ]
        return list(_scalar(value, schema, where))

    def _object(self, value: Any, schema: Mapping[str, Any], where: str) -> list[Violation]:
        if not isinstance(value, dict):
            return [Violation(where, f"Invalid value at '{where}': expected an object")]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        problems: list[Violation] = []
        for key, item in value.items():
            if key in properties:
                problems.extend(self.value(item, properties[key], _at(where, key)))
            elif extra is not None:
                problems.extend(self.value(item, extra, _at(where, key)))
            else:
                problems.append(
                    Violation(_at(where, key), f"Unknown name \"{key}\" at '{where}': Cannot find field.")
                )
        return problems

    def _rules(self, name: str, value: Mapping[str, Any], where: str) -> Iterator[Violation]:
        for rules, at_least in ((EXACTLY_ONE, 1), (AT_MOST_ONE, 0)):
            if name in rules:
                group = rules[name] or tuple(self.schemas[name]["properties"])
                chosen = [field for field in group if field in value]
                if len(chosen) > 1 or len(chosen) < at_least:
                    what = f"one of {', '.join(group)}" if rules[name] else "one of its fields"
                    limit = "exactly" if at_least else "at most"
                    yield Violation(where, f"{name}: {limit} {what} may be set, not {chosen or 'none'}")
        properties = self.schemas[name].get("properties", {})
        # Under an update request the mask says which fields are sent: Google's own sample updates the
        # description alone ({"info": {"description": …}, "updateMask": "description"}; Forms API guide
        # "Update a form or quiz"), though Info.title is "Required.".
        masked = any(
            f".{update}." in f".{where}." for update in ("updateItem", "updateFormInfo", "updateSettings")
        )
        if self.required_in_descriptions and not masked:
            for field, spec in properties.items():
                if str(spec.get("description", "")).startswith("Required.") and field not in value:
                    yield Violation(_at(where, field), f"{name}.{field} is required")
        for mask in ("fields", "updateMask"):
            if mask not in properties:
                continue
            if name not in MASK_ROOTS:
                yield Violation(
                    _at(where, mask), f"the contract test does not know the root of {name}'s mask"
                )
            elif value.get(mask):
                yield from self.mask(value[mask], MASK_ROOTS[name], _at(where, mask))
            else:  # "At least one field must be specified." (the description of each of these masks)
                yield Violation(_at(where, mask), "At least one field must be specified.")

    def mask(self, mask: str, root: str, where: str) -> Iterator[Violation]:
        """A field mask or partial-response selector ("a.b,c(d,e)"): every name must exist below `root`."""
        try:
            paths = _parse_mask(mask)
        except ValueError as exc:
            yield Violation(where, f"Invalid field mask {mask!r}: {exc}")
            return
        for path in paths:
            schema: Mapping[str, Any] = {"$ref": root}
            for name in path:
                schema = self._resolve(schema)
                while schema.get("type") == "array":
                    schema = self._resolve(schema["items"])
                if name == "*":
                    break
                properties = schema.get("properties", {})
                if name not in properties:
                    yield Violation(
                        where, f"Invalid field mask {mask!r}: {'.'.join(path)} is not a field of {root}"
                    )
                    break
                schema = properties[name]

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        return schema


def _methods(resource: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from resource.get("methods", {}).values()
    for child in resource.get("resources", {}).values():
        yield from _methods(child)


def _parse_mask(mask: str) -> list[tuple[str, ...]]:
    """'a.b,c(d,e(f))' -> [(a, b), (c, d), (c, e, f)]."""
    tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\*|[.,()]|\S", mask)
    position = 0

    def parse_list(prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        nonlocal position
        paths = parse_item(prefix)
        while position < len(tokens) and tokens[position] == ",":
            position += 1
            paths += parse_item(prefix)
        return paths

    def parse_item(prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        nonlocal position
        path = prefix
        while True:
            if position >= len(tokens) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*|\*", tokens[position]):
                raise ValueError(f"a field name is expected at token {position + 1}")
            path += (tokens[position],)
            position += 1
            if position < len(tokens) and tokens[position] == ".":
                position += 1
                continue
            break
        if position < len(tokens) and tokens[position] == "(":
            position += 1
            paths = parse_list(path)
            if position >= len(tokens) or tokens[position] != ")":
                raise ValueError("unbalanced parentheses")
            position += 1
            return paths
        return [path]

    paths = parse_list(())
    if position != len(tokens):
        raise ValueError(f"unexpected {tokens[position]!r}")
    return paths


def _scalar(value: Any, schema: Mapping[str, Any], where: str) -> Iterator[Violation]:
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "string":
        if fmt in ("int64", "uint64") and isinstance(value, int) and not isinstance(value, bool):
            return  # 64-bit integers travel as strings, and Google also takes them as numbers
        if not isinstance(value, str):
            yield Violation(where, f"Invalid value at '{where}' (TYPE_STRING), {json.dumps(value)}")
        elif "enum" in schema and value not in schema["enum"]:
            yield Violation(where, f"Invalid value at '{where}' (TYPE_ENUM), \"{value}\"")
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            yield Violation(where, f"Invalid value at '{where}' (TYPE_INT32), {json.dumps(value)}")
        elif fmt in ("int32", "uint32") and value not in INT32:
            yield Violation(where, f"Invalid value at '{where}' (TYPE_INT32), {value}: out of range")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            yield Violation(where, f"Invalid value at '{where}' (TYPE_DOUBLE), {json.dumps(value)}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            yield Violation(where, f"Invalid value at '{where}' (TYPE_BOOL), {json.dumps(value)}")
    elif kind != "any":
        yield Violation(where, f"the contract test cannot check type {kind!r}")


@functools.cache
def sheets() -> Discovery:
    return Discovery(json.loads((CONTRACTS / "sheets.v4.json").read_text(encoding="utf-8")))


@functools.cache
def drive() -> Discovery:
    return Discovery(json.loads((CONTRACTS / "drive.v3.json").read_text(encoding="utf-8")))


@functools.cache
def forms() -> Discovery:
    return Discovery(
        json.loads((CONTRACTS / "forms.v1.json").read_text(encoding="utf-8")), required_in_descriptions=True
    )


# LINE: the OpenAPI document ----------------------------------------------------------------------------


class OpenApi:
    """An OpenAPI 3 document, as a checker of requests. Stricter than the format in one way: a body field
    that the document does not define is a violation (a misspelt field is a mistake, whatever the server
    does with it)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.operations = [
            (verb.upper(), _path_pattern(path.lstrip("/")), operation)
            for path, item in document["paths"].items()
            for verb, operation in item.items()
            if verb in ("get", "post", "put", "delete", "patch")
        ]

    def operation(self, http_method: str, path: str) -> Mapping[str, Any] | None:
        return next(
            (op for verb, pattern, op in self.operations if verb == http_method and pattern.fullmatch(path)),
            None,
        )

    def check(self, http_method: str, path: str, headers: Mapping[str, str], body: Any) -> list[Violation]:
        operation = self.operation(http_method, path)
        if operation is None:
            return [Violation("", f"no operation {http_method} {path} in the OpenAPI document")]
        problems: list[Violation] = []
        lowered = {k.lower(): v for k, v in headers.items()}
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "header":
                continue
            name = parameter["name"]
            if name.lower() not in lowered:
                if parameter.get("required"):
                    problems.append(Violation(name, "The header is required"))
                continue
            problems.extend(self.value(lowered[name.lower()], parameter["schema"], name))
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if content is None:
            if body not in (None, ""):
                problems.append(Violation("", "this operation takes no request body"))
        elif body in (None, ""):
            if operation["requestBody"].get("required"):
                problems.append(Violation("", "The request body is required"))
        else:
            problems.extend(self.value(body, content["schema"], ""))
        return problems

    def value(self, value: Any, schema: Mapping[str, Any], where: str) -> list[Violation]:
        schema = self._resolve(schema)
        discriminator = schema.get("discriminator")
        if discriminator and isinstance(value, dict):
            tag = value.get(discriminator["propertyName"])
            mapped = discriminator.get("mapping", {}).get(tag)
            if mapped is None:
                return [Violation(_at(where, discriminator["propertyName"]), f"unknown type {tag!r}")]
            schema = self._resolve({"$ref": mapped})
        if "allOf" in schema or schema.get("type") == "object" or "properties" in schema:
            return self._object(value, schema, where)
        if schema.get("type") == "array":
            if not isinstance(value, list):
                return [Violation(where, "must be an array")]
            problems = []
            if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
                low, high = schema.get("minItems", 0), schema.get("maxItems", "∞")
                problems.append(Violation(where, f"Size must be between {low} and {high}"))
            for i, item in enumerate(value):
                problems.extend(self.value(item, schema["items"], _at(where, i)))
            return problems
        return list(self._scalar(value, schema, where))

    def _object(self, value: Any, schema: Mapping[str, Any], where: str) -> list[Violation]:
        if not isinstance(value, dict):
            return [Violation(where, "must be an object")]
        properties, required = self._flatten(schema)
        problems = [
            Violation(_at(where, name), "must be specified") for name in required if name not in value
        ]
        for key, item in value.items():
            if key not in properties:
                problems.append(Violation(_at(where, key), "is not a property the document defines"))
            else:
                problems.extend(self.value(item, properties[key], _at(where, key)))
        return problems

    def _flatten(self, schema: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
        """The properties and required names of a schema and everything it includes with allOf."""
        schema = self._resolve(schema)
        properties = dict(schema.get("properties", {}))
        required = set(schema.get("required", []))
        for part in schema.get("allOf", []):
            more, needed = self._flatten(part)
            properties.update(more)
            required |= needed
        return properties, required

    def _scalar(self, value: Any, schema: Mapping[str, Any], where: str) -> Iterator[Violation]:
        kind = schema.get("type")
        if kind == "string":
            if not isinstance(value, str):
                yield Violation(where, "must be a string")
                return
            if "enum" in schema and value not in schema["enum"]:
                yield Violation(where, f"must be one of {schema['enum']}")
            if len(value) > schema.get("maxLength", len(value)) or len(value) < schema.get("minLength", 0):
                yield Violation(
                    where, f"Length must be between {schema.get('minLength', 0)} and {schema['maxLength']}"
                )
            if schema.get("format") == "uuid":
                try:
                    uuid.UUID(value)
                except ValueError:
                    yield Violation(where, "must be a UUID in hexadecimal format")
        elif kind == "boolean" and not isinstance(value, bool):
            yield Violation(where, "must be a boolean")
        elif kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            yield Violation(where, "must be an integer")
        elif kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            yield Violation(where, "must be a number")

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            node: Any = self.document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        return schema


@functools.cache
def line() -> OpenApi:
    return OpenApi(
        yaml.load((CONTRACTS / "messaging-api.yml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    )
