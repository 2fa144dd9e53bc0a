"""The body of the Sheets API's spreadsheets.batchUpdate that writes the owned tabs: pure, from the
tables and the spreadsheet's metadata to JSON. One batch creates missing tabs, replaces the owned ones
whole, appends to the run log at a fixed row, formats and protects; a write too large for one request is
assembled in hidden staging tabs first (staging_batches) and switched in by the last batch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from otop_sync.sources.contract import Writes
from otop_sync.tables import (
    GRADE_COLOURS,
    HEADER_COLOUR,
    NO_GRADE_COLOUR,
    NUMBER_FORMATS,
    WRAP_LONGER_THAN,
    Kind,
    Table,
    cell_text,
)

PROTECTION_NOTE = "otop_sync เขียนแท็บนี้ใหม่ทุกครั้งที่ประมวลผล โปรดอย่าพิมพ์ทับ"
# Google's recommended largest request: "2 MB is recommended" (developers.google.com/sheets/api/limits).
PAYLOAD_LIMIT = 2_000_000
# The hidden tabs in which a write too large for one request is assembled, then switched in at once.
STAGING = "otop_sync กำลังเขียน "


def _sheets_by_title(metadata: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {sheet["properties"]["title"]: sheet for sheet in metadata.get("sheets", [])}


def _encode(body: Mapping[str, Any]) -> bytes:
    # UTF-8 and no spaces: Thai escaped as \uXXXX by the default encoder took 6 bytes a letter, not 3.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def batch_update_body(
    writes: Writes, metadata: Mapping[str, Any], *, run_log_rows: int, staged: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """One spreadsheets.batchUpdate: create missing tabs, replace the owned ones whole, append to the
    run log at a fixed row, format, and protect (with a warning only) what otop_sync owns. The data rows
    of a table in `staged` (title: hidden sheet ID) are copied from that sheet, which is then deleted."""
    staged = staged or {}
    present = _sheets_by_title(metadata)
    next_id = max((s["properties"]["sheetId"] for s in present.values()), default=0) + 1
    requests_: list[dict[str, Any]] = []
    for table in (*writes.tables, writes.run_log):
        is_log = table is writes.run_log
        start = max(run_log_rows, 1) if is_log else 1  # the run log keeps its rows; its new ones go below
        # At least one row under the frozen header, even with no data: Google refuses a sheet whose every
        # row is frozen ("You can't freeze all visible rows on the sheet."), and the batch with it.
        needed_rows = max(start + len(table.rows), 2)
        sheet = present.get(table.title)
        if sheet is None:
            sheet_id, next_id = next_id, next_id + 1
            requests_.append(_add_sheet(sheet_id, table, needed_rows))
        else:
            sheet_id = sheet["properties"]["sheetId"]
            requests_.append(_resize(sheet_id, sheet, table, needed_rows))
            if not is_log:
                # No row list: every cell of the tab is emptied, so a shorter table leaves no old rows.
                requests_.append(
                    {
                        "updateCells": {
                            "range": {"sheetId": sheet_id},
                            "fields": "userEnteredValue,userEnteredFormat",
                        }
                    }
                )
        requests_.append(_cells(sheet_id, 0, [_header_row(table)], "userEnteredValue,userEnteredFormat"))
        if table.title in staged and table.rows:
            requests_.append(_copy_rows(staged[table.title], sheet_id, table))
        elif table.rows:
            requests_.extend(_data_requests(sheet_id, table, start))
        requests_.extend(_column_widths(sheet_id, table))
        if sheet is None or not _is_protected(sheet):
            requests_.append(_protect(sheet_id))
    requests_.extend({"deleteSheet": {"sheetId": sheet_id}} for sheet_id in staged.values())
    return {"requests": requests_}


def _data_requests(sheet_id: int, table: Table, start: int) -> list[dict[str, Any]]:
    """The values, with the one format that varies from cell to cell (a grade's colour), then the formats
    a whole column shares, once per column: a format on every cell tripled the payload."""
    rows = [_data_row(table, row) for row in table.rows]
    return [
        _cells(sheet_id, start, rows, DATA_FIELDS),
        *_column_formats(sheet_id, table, start, start + len(table.rows)),
    ]


DATA_FIELDS = "userEnteredValue,userEnteredFormat.backgroundColor"


def _staging_ids(writes: Writes, metadata: Mapping[str, Any]) -> dict[str, int]:
    """A hidden sheet ID for each table, clear of every sheet the spreadsheet has."""
    first = max((s["properties"]["sheetId"] for s in metadata.get("sheets", [])), default=0) + 1000
    return {table.title: first + i for i, table in enumerate(writes.tables)}


def staging_batches(
    writes: Writes, metadata: Mapping[str, Any], staged: Mapping[str, int]
) -> list[dict[str, Any]]:
    """The batches that assemble each table's data rows in a hidden sheet, each at most PAYLOAD_LIMIT
    bytes: the first removes what a broken earlier run left and adds the sheets; rows follow in order."""
    setup: list[dict[str, Any]] = [
        {"deleteSheet": {"sheetId": sheet["properties"]["sheetId"]}}
        for title, sheet in _sheets_by_title(metadata).items()
        if title.startswith(STAGING)
    ]
    pieces: list[tuple[int, int, dict[str, Any], int]] = []  # sheet, row index, row data, its bytes
    for number, table in enumerate(writes.tables, start=1):
        sheet_id = staged[table.title]
        grid = {"rowCount": len(table.rows) + 1, "columnCount": len(table.columns)}
        properties = {
            "sheetId": sheet_id,
            "title": f"{STAGING}{number}",
            "hidden": True,
            "gridProperties": grid,
        }
        setup.append({"addSheet": {"properties": properties}})
        setup.extend(_column_formats(sheet_id, table, 1, 1 + len(table.rows)))
        for index, row in enumerate(table.rows, start=1):
            data = _data_row(table, row)
            pieces.append((sheet_id, index, data, len(_encode(data)) + 1))
    batches: list[list[dict[str, Any]]] = [setup]
    room = PAYLOAD_LIMIT - len(_encode({"requests": setup})) - 1_000  # the wrappers of the requests
    for sheet_id, index, data, size in pieces:
        if size > room:
            batches.append([])
            room = PAYLOAD_LIMIT - 1_000
        batch = batches[-1]
        last = batch[-1]["updateCells"] if batch and "updateCells" in batch[-1] else None
        if (
            last
            and last["start"]["sheetId"] == sheet_id
            and last["start"]["rowIndex"] + len(last["rows"]) == index
        ):
            last["rows"].append(data)
        else:
            batch.append(_cells(sheet_id, index, [data], DATA_FIELDS))
            size += 200
        room -= size
    return [{"requests": batch} for batch in batches]


def _copy_rows(from_sheet: int, to_sheet: int, table: Table) -> dict[str, Any]:
    rows = {"startRowIndex": 1, "endRowIndex": 1 + len(table.rows), "startColumnIndex": 0}
    rows["endColumnIndex"] = len(table.columns)
    return {
        "copyPaste": {
            "source": {"sheetId": from_sheet, **rows},
            "destination": {"sheetId": to_sheet, **rows},
            "pasteType": "PASTE_NORMAL",
        }
    }


def _grid(table: Table, rows: int) -> dict[str, int]:
    return {
        "rowCount": rows,
        "columnCount": len(table.columns),
        "frozenRowCount": 1,
        "frozenColumnCount": table.frozen_columns,
    }


def _add_sheet(sheet_id: int, table: Table, rows: int) -> dict[str, Any]:
    return {
        "addSheet": {
            "properties": {"sheetId": sheet_id, "title": table.title, "gridProperties": _grid(table, rows)}
        }
    }


def _resize(sheet_id: int, sheet: Mapping[str, Any], table: Table, rows: int) -> dict[str, Any]:
    current = sheet["properties"].get("gridProperties", {})
    grid = _grid(table, max(rows, current.get("rowCount", 0)))
    grid["columnCount"] = max(grid["columnCount"], current.get("columnCount", 0))
    return {
        "updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": grid},
            "fields": "gridProperties(rowCount,columnCount,frozenRowCount,frozenColumnCount)",
        }
    }


def _cells(sheet_id: int, row: int, rows: list[dict[str, Any]], fields: str) -> dict[str, Any]:
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": 0},
            "rows": rows,
            "fields": fields,
        }
    }


def _colour(hex_rgb: str) -> dict[str, float]:
    return {
        name: round(int(hex_rgb[i : i + 2], 16) / 255, 4)
        for name, i in (("red", 0), ("green", 2), ("blue", 4))
    }


def _header_row(table: Table) -> dict[str, Any]:
    style = {
        "textFormat": {"bold": True},
        "backgroundColor": _colour(HEADER_COLOUR),
        "wrapStrategy": "WRAP",
        "verticalAlignment": "TOP",
    }
    return {
        "values": [
            {"userEnteredValue": {"stringValue": cell_text(c.title)}, "userEnteredFormat": style}
            for c in table.columns
        ]
    }


def _data_row(table: Table, row: Sequence[object]) -> dict[str, Any]:
    return {
        "values": [_cell_data(column.kind, value) for column, value in zip(table.columns, row, strict=False)]
    }


def _cell_data(kind: Kind, value: object) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        # stringValue is never parsed: "=IMPORTRANGE(...)" from a response lands as those characters.
        entered: dict[str, Any] = {"stringValue": cell_text(str(value))}
    else:
        entered = {"numberValue": float(value) if isinstance(value, Decimal) else value}
    if kind is Kind.GRADE:
        colour = _colour(GRADE_COLOURS.get(str(value), NO_GRADE_COLOUR))
        return {"userEnteredValue": entered, "userEnteredFormat": {"backgroundColor": colour}}
    return {"userEnteredValue": entered}


def _column_formats(sheet_id: int, table: Table, start: int, end: int) -> list[dict[str, Any]]:
    """Every cell at the top of its row (beside a wrapped cell, a row is taller than one line), then one
    repeatCell per column that has a format: numbers, grades centred, long text wrapped."""
    formats: list[tuple[int | None, dict[str, Any]]] = [(None, {"verticalAlignment": "TOP"})]
    for i, column in enumerate(table.columns):
        if column.kind in NUMBER_FORMATS:
            formats.append((i, {"numberFormat": {"type": "NUMBER", "pattern": NUMBER_FORMATS[column.kind]}}))
        elif column.kind is Kind.GRADE:
            formats.append((i, {"horizontalAlignment": "CENTER"}))
        elif any(len(str(row[i] or "")) > WRAP_LONGER_THAN for row in table.rows if i < len(row)):
            formats.append((i, {"wrapStrategy": "WRAP"}))
    return [
        {
            "repeatCell": {
                "range": {
                    "sheetId": sheet_id,
                    "startRowIndex": start,
                    "endRowIndex": end,
                    "startColumnIndex": 0 if i is None else i,
                    "endColumnIndex": len(table.columns) if i is None else i + 1,
                },
                "cell": {"userEnteredFormat": style},
                "fields": "userEnteredFormat." + ",userEnteredFormat.".join(style),
            }
        }
        for i, style in formats
    ]


def _column_widths(sheet_id: int, table: Table) -> list[dict[str, Any]]:
    return [
        {
            "updateDimensionProperties": {
                "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": i, "endIndex": i + 1},
                "properties": {"pixelSize": column.width * 7 + 5},
                "fields": "pixelSize",
            }
        }
        for i, column in enumerate(table.columns)
    ]


def _is_protected(sheet: Mapping[str, Any]) -> bool:
    return any(p.get("description") == PROTECTION_NOTE for p in sheet.get("protectedRanges", []))


def _protect(sheet_id: int) -> dict[str, Any]:
    return {
        "addProtectedRange": {
            "protectedRange": {
                "range": {"sheetId": sheet_id},
                "description": PROTECTION_NOTE,
                "warningOnly": True,
            }
        }
    }
