"""The Notion fake's endpoints: which paths exist in which version, and what each one does."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from tests.fakes.notion_values import (
    NotionFakeError,
    matches,
    new_option,
    rich_text,
    stored_from_write,
    validation,
)

if TYPE_CHECKING:
    from tests.fakes.notion import DataSource, NotionFake, Page

DATA_SOURCES_SINCE = "2025-09-03"


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise validation(f"path failed validation: path.{what} should be a valid uuid") from None


def _not_found(kind: str, object_id: str) -> NotionFakeError:
    return NotionFakeError(
        404,
        "object_not_found",
        f"Could not find {kind} with ID: {object_id}. Make sure the relevant pages and databases "
        "are shared with your integration.",
    )


def _bad_url(method: str, path: str) -> NotionFakeError:
    return NotionFakeError(400, "invalid_request_url", f"Invalid request URL: {method} /v1/{path}")


def route(fake: NotionFake, method: str, path: str, version: str, body: dict[str, Any]) -> Any:
    new = version >= DATA_SOURCES_SINCE
    parts = path.strip("/").split("/")
    match (method, parts):
        case ("GET", ["databases", db]):
            return _render_database(fake, _database(fake, db), version)
        case ("PATCH", ["databases", db]) if not new:
            source = fake.data_sources[fake.databases[_database(fake, db)][0]]
            _update_schema(fake, source, body)
            return fake.render_source(source, version)
        case ("POST", ["databases", db, "query"]) if not new:
            return _query(
                fake, fake.data_sources[fake.databases[_database(fake, db)][0]], version, body
            )
        case ("GET", ["data_sources", ds]) if new:
            return fake.render_source(_source(fake, ds), version)
        case ("PATCH", ["data_sources", ds]) if new:
            source = _source(fake, ds)
            _update_schema(fake, source, body)
            return fake.render_source(source, version)
        case ("POST", ["data_sources", ds, "query"]) if new:
            return _query(fake, _source(fake, ds), version, body)
        case ("GET", ["pages", page_id]):
            return fake.render_page(_page(fake, page_id), version)
        case ("PATCH", ["pages", page_id]):
            page = _update_page(fake, _page(fake, page_id), body)
            fake.land_in_flight_edits(page.id)
            return fake.render_page(page, version)
        case ("POST", ["pages"]):
            return fake.render_page(_create_page(fake, body, new), version)
    raise _bad_url(method, path)


def _render_database(fake: NotionFake, database_id: str, version: str) -> dict[str, Any]:
    sources = [fake.data_sources[s] for s in fake.databases[database_id]]
    if version < "2025-09-03":
        return fake.render_source(sources[0], version)
    out: dict[str, Any] = {
        "object": "database",
        "id": database_id,
        "title": rich_text(sources[0].title),
        "data_sources": [{"id": s.id, "name": s.title} for s in sources],
        "parent": {"type": "workspace", "workspace": True},
        "in_trash": False,
        "is_inline": False,
    }
    if version < "2026-03-11":
        out["archived"] = False
    return out


def _database(fake: NotionFake, raw: str) -> str:
    database_id = _uuid(raw, "database_id")
    if database_id not in fake.databases:
        raise _not_found("database", database_id)
    return database_id


def _source(fake: NotionFake, raw: str) -> DataSource:
    source_id = _uuid(raw, "data_source_id")
    if source_id not in fake.data_sources:
        raise _not_found("data_source", source_id)
    return fake.data_sources[source_id]


def _page(fake: NotionFake, raw: str) -> Page:
    page_id = _uuid(raw, "page_id")
    if page_id not in fake.pages:
        raise _not_found("page", page_id)
    return fake.pages[page_id]


def _query(fake: NotionFake, source: DataSource, version: str, body: dict[str, Any]) -> Any:
    size = body.get("page_size", 100)
    if not isinstance(size, int) or not 1 <= size <= 100:
        raise validation("body.page_size should be a number between 1 and 100")
    trashed = bool(body.get("in_trash", body.get("archived", False)))
    rows = [
        p for p in fake.pages.values() if p.data_source_id == source.id and p.in_trash == trashed
    ]
    filt = body.get("filter")
    if filt is not None:
        if not isinstance(filt, dict):
            raise validation("body.filter should be an object")
        rows = [
            p
            for p in rows
            if matches(
                p.values,
                {"created_time": p.created, "last_edited_time": p.edited},
                source.properties,
                filt,
            )
        ]
    rows.sort(key=lambda p: (p.created, p.id), reverse=True)
    for sort in reversed(body.get("sorts") or []):
        rows.sort(key=_sort_key(source, sort), reverse=sort.get("direction") == "descending")
    start = 0
    cursor = body.get("start_cursor")
    if cursor is not None:
        ids = [p.id for p in rows]
        if cursor not in ids:
            raise validation("start_cursor provided is invalid: " + str(cursor))
        start = ids.index(cursor)
    chunk = rows[start : start + size]
    more = start + size < len(rows)
    kind = "page_or_data_source" if version >= DATA_SOURCES_SINCE else "page"
    return {
        "object": "list",
        "results": [fake.render_page(p, version) for p in chunk],
        "next_cursor": rows[start + size].id if more else None,
        "has_more": more,
        "type": kind,
        kind: {},
    }


def _sort_key(source: DataSource, sort: dict[str, Any]) -> Any:
    if "timestamp" in sort:
        field = sort["timestamp"]
        return lambda p: p.created if field == "created_time" else p.edited
    name = sort.get("property")
    if name not in source.properties:
        raise validation(f"Could not find sort property with name or id: {name}")
    return lambda p: (p.values.get(name) is None, p.values.get(name) or "")


def _update_page(fake: NotionFake, page: Page, body: dict[str, Any]) -> Page:
    trash = body.get("in_trash", body.get("archived"))
    props = body.get("properties") or {}
    if page.in_trash and trash is not False and props:
        raise validation(
            "Can't edit block that is archived. You must unarchive the block before editing."
        )
    if not isinstance(props, dict):
        raise validation("body.properties should be an object")
    source = fake.data_sources[page.data_source_id]
    staged = dict(page.values)
    for key, value in props.items():
        schema = fake.property(source, key)
        staged[schema["name"]] = stored_from_write(schema["name"], schema, value)
    page.values = staged  # all or nothing, like the real API
    if trash is not None:
        page.in_trash = bool(trash)
    page.edited = fake.now()
    return page


def _create_page(fake: NotionFake, body: dict[str, Any], new: bool) -> Page:
    parent = body.get("parent") or {}
    if new and "data_source_id" in parent:
        source = _source(fake, str(parent["data_source_id"]))
    elif "database_id" in parent:
        source = fake.data_sources[fake.databases[_database(fake, str(parent["database_id"]))][0]]
    else:
        raise validation("body.parent should name a data_source_id (or a database_id)")
    page_id = fake.add_page(source.id, {})
    return _update_page(fake, fake.pages[page_id], {"properties": body.get("properties") or {}})


def _update_schema(fake: NotionFake, source: DataSource, body: dict[str, Any]) -> None:
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise validation("body.properties should be an object")
    for key, change in props.items():
        existing = source.properties.get(key) or next(
            (p for p in source.properties.values() if p["id"] == key), None
        )
        if change is None:
            if existing is None or existing["type"] == "title":
                raise validation(f"cannot remove property {key}")
            del source.properties[existing["name"]]
            continue
        kinds = [k for k in change if k not in ("name", "description")]
        if existing is None:
            if len(kinds) != 1:
                raise validation(f"{key} is not a property that exists: give its type to add it")
            kind = kinds[0]
            if kind == "status" and (change[kind] or {}).get("options"):
                raise validation(
                    "It's not possible to set the options of a status property via the API."
                )
            config = change[kind] or {}
            if kind == "status":
                config = {"options": ["Not started", "In progress", "Done"]}
            source.properties[key] = fake.schema_object(key, kind, config)
            continue
        if "name" in change and change["name"] != existing["name"]:
            if existing["type"] == "status":
                raise validation(
                    "It's not possible to update the name of a status property via the API."
                )
            _rename(fake, source, existing, change["name"])
        for kind in kinds:
            _reconfigure(existing, kind, change[kind] or {})


def _rename(fake: NotionFake, source: DataSource, existing: dict[str, Any], name: str) -> None:
    old = existing["name"]
    existing["name"] = name
    source.properties = {(name if k == old else k): v for k, v in source.properties.items()}
    for page in fake.pages.values():
        if page.data_source_id == source.id and old in page.values:
            page.values[name] = page.values.pop(old)


def _reconfigure(existing: dict[str, Any], kind: str, config: dict[str, Any]) -> None:
    if kind != existing["type"]:
        if existing["type"] == "title":
            raise validation("The property type of the title cannot be changed.")
        existing.pop(existing["type"], None)
        existing["type"] = kind
        existing[kind] = {}
    if kind == "status" and "options" in config:
        raise validation(
            "It's not possible to update the name or options values of a status property via the API."
        )
    if kind == "select" and "options" in config:
        current = existing["select"].get("options", [])
        updated = []
        for i, option in enumerate(config["options"]):
            name = option.get("name")
            if not isinstance(name, str) or not name or "," in name:
                raise validation("select option names must be non-empty and contain no commas")
            known = next(
                (o for o in current if o["name"] == name or o["id"] == option.get("id")), None
            )
            updated.append(dict(known) if known else new_option(name, i))
        existing["select"]["options"] = updated
