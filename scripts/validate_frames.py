#!/usr/bin/env python3
"""Validate hawker.v1 server frames against Protocol/schemas.

Usage:
  validate_frames.py FRAMES.jsonl [MORE.jsonl ...]
      Each non-blank line is one server frame (a JSON object). Every frame is
      validated against Protocol/schemas/server-message.json. Prints
        validate_frames: N frames, M invalid, types: {...}
      and the first errors. Exits 1 if any frame is invalid or there are no
      frames, 0 otherwise.

  validate_frames.py --check-schemas
      Checks every schema in Protocol/schemas against the JSON Schema 2020-12
      metaschema, checks that every $ref resolves, checks that the unions
      (server-message.json, client-message.json) list every message schema
      (a file whose "type" is a const) once, with a `type` enum that matches
      their oneOf, and validates every ```json block of Protocol/PROTOCOL.md
      whose "type" names a server message (against server-message.json) or a
      client command (against client-message.json); a block without "type"
      is validated against `http.json#/$defs/NAME` when the text since the
      previous block or heading names exactly one such definition. Exits 1 on
      any failure.

Needs the `jsonschema` package (which brings `referencing`):
  python3 -m venv .venv && .venv/bin/pip install jsonschema
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator

try:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
except ImportError:  # pragma: no cover - environment problem, not a validation result
    sys.stderr.write("validate_frames: needs the jsonschema package (pip install jsonschema)\n")
    sys.exit(2)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCHEMAS = ROOT / "Protocol" / "schemas"
DEFAULT_DOC = ROOT / "Protocol" / "PROTOCOL.md"
BASE_URI = "https://hawker.dev/schemas/v1/"

UNIONS = ("server-message.json", "client-message.json")


def _union_types(schema: dict[str, Any]) -> tuple[str, ...]:
    """The `type` values a union schema (server-message.json, client-message.json) selects on."""
    return tuple(schema.get("properties", {}).get("type", {}).get("enum", ()))


class Schemas:
    """All schema files of a folder, registered by their $id."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.by_file: dict[str, dict[str, Any]] = {}
        registry: Registry = Registry()
        for path in sorted(folder.glob("*.json")):
            contents = json.loads(path.read_text(encoding="utf-8"))
            self.by_file[path.name] = contents
            uri = contents.get("$id")
            if not isinstance(uri, str):
                raise SystemExit(f"validate_frames: {path} has no $id")
            resource = Resource.from_contents(contents, default_specification=DRAFT202012)
            registry = registry.with_resource(uri=uri, resource=resource)
        if "server-message.json" not in self.by_file:
            raise SystemExit(f"validate_frames: no server-message.json in {folder}")
        self.registry = registry.crawl()
        self._validators: dict[str, Draft202012Validator] = {}
        # The message types come from the unions of this folder (so --schemas works on a copy).
        self.types = {union: _union_types(self.by_file.get(union, {})) for union in UNIONS}

    def validator(self, filename: str) -> Draft202012Validator:
        if filename not in self._validators:
            self._validators[filename] = Draft202012Validator(
                self.by_file[filename], registry=self.registry
            )
        return self._validators[filename]

    def errors(self, union: str, frame: Any) -> list[str]:
        """Errors of `frame` against `union`, explained with the schema its `type` selects."""
        try:
            return self._errors(union, frame)
        except Exception as exc:  # a broken schema ($ref to nowhere, bad regex...), not a bad frame
            raise SystemExit(f"validate_frames: schemas in {self.folder} are broken: {type(exc).__name__}: {str(exc)[:300]}"
                             " (run --check-schemas)")

    def _errors(self, union: str, frame: Any) -> list[str]:
        union_validator = self.validator(union)
        if union_validator.is_valid(frame):
            return []
        msg_type = frame.get("type") if isinstance(frame, dict) else None
        specific = f"{msg_type}.json" if isinstance(msg_type, str) else None
        known = self.types[union]
        if isinstance(frame, dict) and msg_type not in known:
            return [f"at /type: {msg_type!r} is not one of {list(known)}"]
        if specific and specific in self.by_file:
            errs = sorted(self.validator(specific).iter_errors(frame), key=lambda e: list(e.absolute_path))
            if errs:
                return [_describe(e) for e in errs]
        err = best_match(union_validator.iter_errors(frame))
        return [_describe(err)] if err else ["invalid"]


def _describe(err: Any) -> str:
    path = "/" + "/".join(str(p) for p in err.absolute_path)
    return f"at {path}: {err.message}"


def _type_label(frame: Any) -> str:
    if not isinstance(frame, dict):
        return "<not an object>"
    t = frame.get("type")
    return t if isinstance(t, str) else "<no type>"


def read_frames(paths: list[str]) -> Iterator[tuple[str, int, Any, str | None]]:
    """Yields (file, line number, frame or None, parse error or None)."""
    for name in paths:
        with open(name, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield name, lineno, json.loads(line), None
                except json.JSONDecodeError as exc:
                    yield name, lineno, None, f"not JSON: {exc}"


def validate_frames(schemas: Schemas, paths: list[str], max_errors: int) -> int:
    total = invalid = 0
    types: collections.Counter[str] = collections.Counter()
    reports: list[str] = []
    for name, lineno, frame, parse_error in read_frames(paths):
        total += 1
        if parse_error is not None:
            types["<invalid json>"] += 1
            problems = [parse_error]
        else:
            types[_type_label(frame)] += 1
            problems = schemas.errors("server-message.json", frame)
        if problems:
            invalid += 1
            if len(reports) < max_errors:
                label = _type_label(frame) if parse_error is None else "?"
                shown = "; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else "")
                reports.append(f"  {name}:{lineno} [{label}] {shown}")
    print(f"validate_frames: {total} frames, {invalid} invalid, types: {json.dumps(dict(sorted(types.items())))}")
    for line in reports:
        print(line)
    if invalid > len(reports):
        print(f"  ... {invalid - len(reports)} more invalid frames")
    if total == 0:
        print("validate_frames: no frames found", file=sys.stderr)
        return 1
    return 1 if invalid else 0


# ---------------------------------------------------------------- --check-schemas

def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


JSON_BLOCK = re.compile(r"^```json[ \t]*\n(.*?)^```", re.S | re.M)
ANY_BLOCK = re.compile(r"^```.*?^```[ \t]*$", re.S | re.M)
HEADING = re.compile(r"^#+ ", re.M)
HTTP_DEF = re.compile(r"http\.json#/\$defs/([A-Za-z0-9_]+)")


def doc_examples(doc: Path) -> Iterator[tuple[int, Any, str | None, str | None]]:
    """Yields (line number, object, parse error, http.json definition) for each ```json block (or
    each line of a JSON-lines block). The definition is the one `http.json#/$defs/NAME` named in
    the text between the previous code block or heading and the block, when exactly one is."""
    text = doc.read_text(encoding="utf-8")
    block_ends = [m.end() for m in ANY_BLOCK.finditer(text)]
    headings = [m.start() for m in HEADING.finditer(text)]
    for match in JSON_BLOCK.finditer(text):
        lineno = text.count("\n", 0, match.start()) + 2
        lead_start = max([e for e in block_ends if e <= match.start()] + [h for h in headings if h <= match.start()] + [0])
        defs = set(HTTP_DEF.findall(text[lead_start:match.start()]))
        http_def = defs.pop() if len(defs) == 1 else None
        body = match.group(1)
        try:
            yield lineno, json.loads(body), None, http_def
            continue
        except json.JSONDecodeError as whole_error:
            lines = [(i, l) for i, l in enumerate(body.splitlines()) if l.strip()]
            try:
                parsed = [(lineno + i, json.loads(l)) for i, l in lines]
            except json.JSONDecodeError:
                yield lineno, None, f"```json block is neither one JSON value nor JSON lines: {whole_error}", None
                continue
            for line_no, obj in parsed:
                yield line_no, obj, None, http_def


def check_unions(schemas: Schemas) -> list[str]:
    """Each union's `type` enum matches its oneOf, and every message schema is in exactly one union."""
    failures: list[str] = []
    listed: dict[str, str] = {}
    for union in UNIONS:
        contents = schemas.by_file.get(union)
        if contents is None:
            failures.append(f"{union}: missing")
            continue
        refs = [entry.get("$ref") for entry in contents.get("oneOf", []) if isinstance(entry, dict)]
        enum = list(schemas.types[union])
        if len(set(enum)) != len(enum):
            failures.append(f"{union}: `type` enum lists a type twice")
        if sorted(f"{t}.json" for t in enum) != sorted(r for r in refs if isinstance(r, str)):
            failures.append(f"{union}: `type` enum {enum} does not match the oneOf $refs {refs}")
        for ref in refs:
            if isinstance(ref, str):
                if ref in listed:
                    failures.append(f"{ref}: in both {listed[ref]} and {union}")
                listed[ref] = union
    for name, contents in sorted(schemas.by_file.items()):
        const = contents.get("properties", {}).get("type", {}).get("const") if isinstance(contents, dict) else None
        if isinstance(const, str):
            if name != f"{const}.json":
                failures.append(f"{name}: its type is {const!r}, so the file should be {const}.json")
            if name not in listed:
                failures.append(f"{name}: a message schema that neither union lists")
    return failures


def check_schemas(schemas: Schemas, doc: Path) -> int:
    failures: list[str] = []
    for name, contents in schemas.by_file.items():
        expected_id = BASE_URI + name
        if contents.get("$id") != expected_id:
            failures.append(f"{name}: $id is {contents.get('$id')!r}, expected {expected_id!r}")
        if contents.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            failures.append(f"{name}: $schema is not draft 2020-12")
        for err in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(contents):
            failures.append(f"{name}: metaschema: {_describe(err)}")
        resolver = schemas.registry.resolver(base_uri=expected_id)
        for ref in sorted(set(_refs(contents))):
            try:
                resolver.lookup(ref)
            except Exception as exc:  # referencing raises several Unresolvable subclasses
                failures.append(f"{name}: $ref {ref!r} does not resolve ({type(exc).__name__})")

    failures.extend(check_unions(schemas))

    server = client = http = 0
    if failures:
        failures.append(f"{doc.name}: examples not checked because the schemas have problems")
    elif doc.exists():
        http_defs = schemas.by_file.get("http.json", {}).get("$defs", {})
        for lineno, obj, parse_error, http_def in doc_examples(doc):
            where = f"{doc.name}:{lineno}"
            if parse_error:
                failures.append(f"{where}: {parse_error}")
                continue
            if not isinstance(obj, dict):
                continue
            if not isinstance(obj.get("type"), str):
                if http_def is None:
                    continue
                if http_def not in http_defs:
                    failures.append(f"{where}: names http.json#/$defs/{http_def}, which does not exist")
                    continue
                http += 1
                validator = Draft202012Validator({"$ref": f"{BASE_URI}http.json#/$defs/{http_def}"}, registry=schemas.registry)
                for err in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
                    failures.append(f"{where} [http.json#/$defs/{http_def}] {_describe(err)}")
                continue
            if obj["type"] in schemas.types["server-message.json"]:
                server += 1
                union = "server-message.json"
            elif obj["type"] in schemas.types["client-message.json"] and "client-message.json" in schemas.by_file:
                client += 1
                union = "client-message.json"
            else:
                continue
            for problem in schemas.errors(union, obj):
                failures.append(f"{where} [{obj['type']}] {problem}")
    else:
        failures.append(f"{doc}: not found")

    print(
        f"check_schemas: {len(schemas.by_file)} schemas, "
        f"{server} server, {client} client and {http} HTTP examples in {doc.name}, {len(failures)} problems"
    )
    for line in failures:
        print("  " + line)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="JSONL files of server frames")
    parser.add_argument("--schemas", type=Path, default=DEFAULT_SCHEMAS, help="schema folder (default: Protocol/schemas)")
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC, help="spec checked by --check-schemas (default: Protocol/PROTOCOL.md)")
    parser.add_argument("--check-schemas", action="store_true", help="check the schemas and the spec's JSON examples")
    parser.add_argument("--max-errors", type=int, default=10, help="how many invalid frames to print (default 10)")
    args = parser.parse_args(argv)

    schemas = Schemas(args.schemas)
    if args.check_schemas:
        status = check_schemas(schemas, args.doc)
        if args.files:
            status |= validate_frames(schemas, args.files, args.max_errors)
        return status
    if not args.files:
        parser.error("give JSONL files of server frames, or --check-schemas")
    return validate_frames(schemas, args.files, args.max_errors)


if __name__ == "__main__":
    sys.exit(main())
