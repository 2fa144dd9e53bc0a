"""A fake Google Sheets API v4 and OAuth token endpoint, at the HTTP level.

It is a requests transport adapter: the real gspread and google-auth code builds real HTTP requests
and parses real responses; only the network is replaced. It keeps a log of every request, answers with
Google's error bodies, applies ``spreadsheets.batchUpdate`` all-or-nothing, and can be told to fail.

It refuses what the real API refuses: every request is checked against Google's discovery document
(``tests/contract.py``), and the rules the document leaves to prose are held here, each with its source.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter

from otop_sync.lengths import utf16_length

from .contract import Violation, sheets

SCOPE = "https://www.googleapis.com/auth/spreadsheets"
TOKEN_URI = "https://oauth2.fake.test/token"

# Limits the discovery document does not state (developers.google.com/sheets/api/limits and the errors
# users of the API report, quoted in the messages below).
CELL_CHARACTERS = 50_000  # "Your input contains more than the maximum of 50000 characters in a single cell."
SPREADSHEET_CELLS = 10_000_000  # "…above the limit of 10000000 cells." (pygsheets issue 589)


@dataclass
class Call:
    method: str
    host: str
    path: str
    params: dict[str, list[str]]
    body: Any
    timeout: Any = None
    size: int = 0  # bytes of the request body, as sent

    @property
    def kind(self) -> str:
        """metadata, values:batchGet, batchUpdate, values.update, token…"""
        if self.host == urlsplit(TOKEN_URI).netloc or self.path == "/token":
            return "token"
        tail = self.path.split("/v4/spreadsheets/", 1)[-1]
        if ":batchUpdate" in tail and "/values" not in tail:
            return "batchUpdate"
        for name in ("values:batchGet", "values:batchUpdate", "values:batchClear"):
            if tail.endswith(name):
                return name
        if "/values/" in tail:
            return "values." + ("update" if self.method == "PUT" else "get")
        return "metadata"


@dataclass
class Fault:
    kind: str  # which Call.kind fails
    status: int = 500
    times: int = 1
    timeout: bool = False
    apply_first: bool = False  # do the work, then lose the answer
    body: Any = None


class ApiError(Exception):
    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status, self.message, self.reason = status, message, reason


@dataclass
class Sheet:
    sheet_id: int
    title: str
    rows: int = 1000
    columns: int = 26
    frozen_rows: int = 0
    frozen_columns: int = 0
    hidden: bool = False
    cells: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    protected: list[dict[str, Any]] = field(default_factory=list)
    widths: dict[int, int] = field(default_factory=dict)

    def values(self, render: str) -> list[list[Any]]:
        if not self.cells:
            return []
        height = max(r for r, _ in self.cells) + 1
        out: list[list[Any]] = []
        for r in range(height):
            row = [self._render(self.cells.get((r, c)), render) for c in range(self.columns)]
            while row and row[-1] in ("", None):
                row.pop()
            out.append(["" if v is None else v for v in row])
        while out and not out[-1]:
            out.pop()
        return out

    @staticmethod
    def _render(cell: Mapping[str, Any] | None, render: str) -> Any:
        if not cell:
            return None
        if cell.get("formula") is not None and render == "FORMULA":
            return cell["formula"]
        return cell.get("value")


@dataclass
class Spreadsheet:
    key: str
    time_zone: str = "Asia/Bangkok"
    sheets: list[Sheet] = field(default_factory=list)

    def sheet(self, title: str) -> Sheet | None:
        return next((s for s in self.sheets if s.title == title), None)

    def by_id(self, sheet_id: int) -> Sheet:
        found = next((s for s in self.sheets if s.sheet_id == sheet_id), None)
        if found is None:
            raise ApiError(400, f"Invalid requests: No grid with id: {sheet_id}", "INVALID_ARGUMENT")
        return found

    def table(self, title: str) -> list[list[Any]]:
        """What a coordinator sees in a tab: calculated values, ragged."""
        sheet = self.sheet(title)
        assert sheet is not None, title
        return sheet.values("UNFORMATTED_VALUE")


class Grants:
    """The fake token endpoint's access tokens, each with the scopes it was granted (the signed JWT's
    `scope` claim), and the check of a request against its method's `scopes` in the discovery document:
    Google refuses a token without one of them, 403 "Request had insufficient authentication scopes."."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.scopes: dict[str, set[str]] = {}  # by access token
        self.claims: list[dict[str, Any]] = []

    def issue(self, body: Any) -> dict[str, Any]:
        form = parse_qs(body) if isinstance(body, str) else {}
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            raise ApiError(400, "unsupported_grant_type", "invalid_request")
        payload = form["assertion"][0].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        self.claims.append(claims)
        token = f"{self.prefix}{len(self.scopes) + 1}"
        self.scopes[token] = set(str(claims.get("scope", "")).split())
        return {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def authorise(self, request: requests.PreparedRequest, method: Mapping[str, Any] | None) -> None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.scopes:
            raise ApiError(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
        if method is not None and not self.scopes[token] & set(method.get("scopes", ())):
            raise ApiError(403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED")


class FakeSheetsAPI(BaseAdapter):
    def __init__(self, *, latency_seconds: float = 0.0) -> None:
        super().__init__()
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.log: list[Call] = []
        self.faults: list[Fault] = []
        self.grants = Grants("ya29.fake-")
        self.latency_seconds = latency_seconds
        self.virtual_seconds = 0.0
        self.violations: list[tuple[Call, Violation]] = []  # requests the discovery document does not allow

    # Set-up ---------------------------------------------------------------------------------------

    def add_spreadsheet(
        self, key: str, tabs: Mapping[str, Sequence[Sequence[Any]]], **options: Any
    ) -> Spreadsheet:
        book = Spreadsheet(key, **options)
        for index, (title, rows) in enumerate(tabs.items()):
            sheet = Sheet(index * 1000 + 7, title, rows=max(1000, len(rows)))
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    if value is not None and value != "":
                        sheet.cells[(r, c)] = _entered(value)
            book.sheets.append(sheet)
        self.spreadsheets[key] = book
        return book

    def fail(self, kind: str, **options: Any) -> None:
        self.faults.append(Fault(kind, **options))

    def kinds(self) -> list[str]:
        return [c.kind for c in self.log if c.kind != "token"]

    # Transport ------------------------------------------------------------------------------------

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        body = _body(request)
        raw = request.body or b""
        call = Call(
            request.method or "GET",
            parts.netloc,
            unquote(parts.path),
            parse_qs(parts.query),
            body,
            kwargs.get("timeout"),
            len(raw.encode() if isinstance(raw, str) else raw),
        )
        self.log.append(call)
        self.virtual_seconds += self.latency_seconds
        if call.kind != "token":
            problems = sheets().check(call.method, parts.path, call.params, body)
            if problems:
                self.violations.extend((call, p) for p in problems)
                message = "Invalid JSON payload received. " + " ".join(map(str, problems[:3]))
                return _response(request, 400, _error(400, message, "INVALID_ARGUMENT"))
        fault = next((f for f in self.faults if f.kind == call.kind and f.times > 0), None)
        if fault is not None:
            fault.times -= 1
            if fault.timeout:
                raise requests.ReadTimeout(f"fake: {call.kind} timed out")
            if fault.apply_first:
                self._answer(call, request)
            return _response(
                request, fault.status, fault.body or _error(fault.status, "fake fault", "UNAVAILABLE")
            )
        return self._answer(call, request)

    def close(self) -> None:
        pass

    def _answer(self, call: Call, request: requests.PreparedRequest) -> requests.Response:
        try:
            if call.kind == "token":
                return _response(request, 200, self.grants.issue(call.body))
            self.grants.authorise(request, sheets().method(call.method, urlsplit(request.url or "").path))
            book = self._book(call.path)
            handler = getattr(self, "_" + call.kind.replace(":", "_").replace(".", "_"))
            return _response(request, 200, handler(book, call))
        except ApiError as exc:
            return _response(request, exc.status, _error(exc.status, exc.message, exc.reason))

    @property
    def tokens(self) -> dict[str, set[str]]:
        return self.grants.scopes

    @property
    def token_claims(self) -> list[dict[str, Any]]:
        return self.grants.claims

    def _book(self, path: str) -> Spreadsheet:
        key = re.match(r"/v4/spreadsheets/([^/:]+)", path)
        if not key or key[1] not in self.spreadsheets:
            raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
        return self.spreadsheets[key[1]]

    # Endpoints ------------------------------------------------------------------------------------

    def _metadata(self, book: Spreadsheet, call: Call) -> dict[str, Any]:
        return {
            "spreadsheetId": book.key,
            "properties": {"title": "OTOP", "timeZone": book.time_zone, "locale": "th_TH"},
            "sheets": [
                {
                    "properties": {
                        "sheetId": s.sheet_id,
                        "title": s.title,
                        "index": i,
                        "sheetType": "GRID",
                        **({"hidden": True} if s.hidden else {}),
                        "gridProperties": {"rowCount": s.rows, "columnCount": s.columns},
                    },
                    **({"protectedRanges": copy.deepcopy(s.protected)} if s.protected else {}),
                }
                for i, s in enumerate(book.sheets)
            ],
        }

    def _values_batchGet(self, book: Spreadsheet, call: Call) -> dict[str, Any]:
        render = call.params.get("valueRenderOption", ["FORMATTED_VALUE"])[0]
        ranges = []
        for a1 in call.params.get("ranges", []):
            sheet, rows = self._range(book, a1)
            values = sheet.values(render)
            if rows is not None:
                values = values[rows[0] : rows[1]]
            ranges.append({"range": a1, "majorDimension": "ROWS", **({"values": values} if values else {})})
        return {"spreadsheetId": book.key, "valueRanges": ranges}

    def _range(self, book: Spreadsheet, a1: str) -> tuple[Sheet, tuple[int, int] | None]:
        found = re.fullmatch(r"'((?:[^']|'')*)'(?:!(\d+):(\d+))?", a1) or re.fullmatch(r"([^!']+)()()", a1)
        sheet = book.sheet(found[1].replace("''", "'")) if found else None
        if found is None or sheet is None:
            raise ApiError(400, f"Unable to parse range: {a1}", "INVALID_ARGUMENT")
        return sheet, ((int(found[2]) - 1, int(found[3])) if found[2] else None)

    def _values_get(self, book: Spreadsheet, call: Call) -> dict[str, Any]:
        a1 = call.path.split("/values/", 1)[1]
        sheet, rows = self._range(book, a1)
        values = sheet.values(call.params.get("valueRenderOption", ["FORMATTED_VALUE"])[0])
        if rows is not None:
            values = values[rows[0] : rows[1]]
        return {"range": a1, "majorDimension": "ROWS", **({"values": values} if values else {})}

    def _values_update(self, book: Spreadsheet, call: Call) -> dict[str, Any]:
        a1 = call.path.split("/values/", 1)[1]
        found = re.fullmatch(r"'((?:[^']|'')*)'!([A-Z]+)(\d+)(?::[A-Z]+\d+)?", a1)
        sheet = book.sheet(found[1].replace("''", "'")) if found else None
        if found is None or sheet is None:
            raise ApiError(400, f"Unable to parse range: {a1}", "INVALID_ARGUMENT")
        top, left = int(found[3]) - 1, _column_index(found[2])
        raw = call.params.get("valueInputOption") == ["RAW"]
        for r, row in enumerate(call.body.get("values", [])):
            for c, value in enumerate(row):
                sheet.cells[(top + r, left + c)] = _entered(value, parse=not raw)
        return {"spreadsheetId": book.key, "updatedRange": a1}

    def _batchUpdate(self, book: Spreadsheet, call: Call) -> dict[str, Any]:
        # All or nothing, as Google does: work on a copy and keep it only if every request succeeds.
        draft = copy.deepcopy(book)
        replies = []
        for index, request in enumerate(call.body.get("requests", [])):
            ((name, _),) = request.items()
            try:
                replies.append(self._apply(draft, request))
                _check_limits(draft)
            except ApiError as exc:
                # Google names the request that failed: "Invalid requests[3].updateCells: …".
                raise ApiError(
                    exc.status, f"Invalid requests[{index}].{name}: {exc.message}", exc.reason
                ) from None
        self.spreadsheets[book.key] = draft
        return {"spreadsheetId": book.key, "replies": replies}

    def _apply(self, book: Spreadsheet, request: Mapping[str, Any]) -> dict[str, Any]:
        ((name, body),) = request.items()
        if name == "addSheet":
            props = body["properties"]
            if book.sheet(props["title"]):
                raise ApiError(
                    400,
                    f'A sheet with the name "{props["title"]}" already exists. Please enter another name.',
                    "INVALID_ARGUMENT",
                )
            grid = props.get("gridProperties", {})
            # Without an ID, Google picks one no sheet has.
            props = {"sheetId": max((s.sheet_id for s in book.sheets), default=0) + 1, **props}
            sheet = Sheet(
                props["sheetId"],
                props["title"],
                grid.get("rowCount", 1000),
                grid.get("columnCount", 26),
                grid.get("frozenRowCount", 0),
                grid.get("frozenColumnCount", 0),
                props.get("hidden", False),
            )
            if any(s.sheet_id == sheet.sheet_id for s in book.sheets):
                raise ApiError(
                    400,
                    f"Invalid sheetId {sheet.sheet_id}: a sheet with this ID already exists.",
                    "INVALID_ARGUMENT",
                )
            book.sheets.append(sheet)
            return {"addSheet": {"properties": props}}
        if name == "updateSheetProperties":
            props = body["properties"]
            sheet = book.by_id(props["sheetId"])
            grid = props.get("gridProperties", {})
            sheet.rows = grid.get("rowCount", sheet.rows)
            sheet.columns = grid.get("columnCount", sheet.columns)
            sheet.frozen_rows = grid.get("frozenRowCount", sheet.frozen_rows)
            sheet.frozen_columns = grid.get("frozenColumnCount", sheet.frozen_columns)
            return {}
        if name == "updateCells":
            self._update_cells(book, body)
            return {}
        if name == "deleteSheet":
            book.sheets.remove(book.by_id(body["sheetId"]))
            if not book.sheets:
                raise ApiError(400, "You can't remove all the sheets in a document.", "INVALID_ARGUMENT")
            return {}
        if name == "copyPaste":
            # PASTE_NORMAL: values, formulas and formats, to the same offsets under the destination's corner.
            source, target = book.by_id(body["source"]["sheetId"]), book.by_id(body["destination"]["sheetId"])
            top, left = body["source"].get("startRowIndex", 0), body["source"].get("startColumnIndex", 0)
            down = body["destination"].get("startRowIndex", 0) - top
            right = body["destination"].get("startColumnIndex", 0) - left
            for r, c in _cells_in(source, body["source"]):
                if r + down >= target.rows or c + right >= target.columns:
                    raise ApiError(400, "Range exceeds grid limits.", "INVALID_ARGUMENT")
                if (r, c) in source.cells:
                    target.cells[(r + down, c + right)] = copy.deepcopy(source.cells[(r, c)])
                else:
                    target.cells.pop((r + down, c + right), None)
            return {}
        if name == "repeatCell":
            sheet = book.by_id(body["range"]["sheetId"])
            paths = _mask(body["fields"])
            for r, c in _cells_in(sheet, body["range"]):
                _set_fields(sheet, (r, c), body["cell"], paths)
            return {}
        if name == "updateDimensionProperties":
            sheet = book.by_id(body["range"]["sheetId"])
            for index in range(body["range"]["startIndex"], body["range"]["endIndex"]):
                sheet.widths[index] = body["properties"]["pixelSize"]
            return {}
        if name == "addProtectedRange":
            protected = dict(body["protectedRange"], protectedRangeId=len(book.sheets) * 100 + 1)
            book.by_id(protected["range"]["sheetId"]).protected.append(protected)
            return {"addProtectedRange": {"protectedRange": protected}}
        raise ApiError(400, f"Invalid JSON payload received. Unknown name {name!r}", "INVALID_ARGUMENT")

    def _update_cells(self, book: Spreadsheet, body: Mapping[str, Any]) -> None:
        paths = _mask(body["fields"])
        if "range" in body:
            sheet = book.by_id(body["range"]["sheetId"])
            if not body.get("rows"):
                # "If the data in rows does not cover the entire requested range, the fields matching
                # those set in fields will be cleared." (UpdateCellsRequest.range)
                for key in _cells_in(sheet, body["range"]):
                    _set_fields(sheet, key, {}, paths)
                return
            top, left = body["range"].get("startRowIndex", 0), body["range"].get("startColumnIndex", 0)
        else:
            sheet = book.by_id(body["start"]["sheetId"])
            top, left = body["start"].get("rowIndex", 0), body["start"].get("columnIndex", 0)
        for r, row in enumerate(body.get("rows", [])):
            for c, data in enumerate(row.get("values", [])):
                if top + r >= sheet.rows or left + c >= sheet.columns:
                    raise ApiError(
                        400,
                        f"Range ({sheet.title}!R{top + r + 1}C{left + c + 1}) exceeds grid limits.",
                        "INVALID_ARGUMENT",
                    )
                _set_fields(sheet, (top + r, left + c), data, paths)


def _check_limits(book: Spreadsheet) -> None:
    """The sheet-wide rules the discovery document leaves to prose, checked after each request of a batch
    (the one on a cell's length is checked where a cell is set)."""
    for sheet in book.sheets:
        # "You can't freeze all visible rows on the sheet." (node-google-spreadsheet issue 528: a tab of
        # one row with its header frozen is refused; a second, empty row is the known way round it).
        if sheet.frozen_rows and sheet.frozen_rows >= sheet.rows:
            raise ApiError(400, "You can't freeze all visible rows on the sheet.", "INVALID_ARGUMENT")
        if sheet.frozen_columns and sheet.frozen_columns >= sheet.columns:
            raise ApiError(400, "You can't freeze all visible columns on the sheet.", "INVALID_ARGUMENT")
    if sum(s.rows * s.columns for s in book.sheets) > SPREADSHEET_CELLS:
        raise ApiError(
            400,
            "This action would increase the number of cells in the workbook above the limit of "
            f"{SPREADSHEET_CELLS} cells.",
            "INVALID_ARGUMENT",
        )


def _mask(fields: str) -> list[tuple[str, ...]]:
    """A CellData field mask as paths: "userEnteredValue,userEnteredFormat.numberFormat"."""
    return [tuple(part.strip().split(".")) for part in fields.split(",")]


def _cells_in(sheet: Sheet, grid_range: Mapping[str, Any]) -> list[tuple[int, int]]:
    rows = range(grid_range.get("startRowIndex", 0), grid_range.get("endRowIndex", sheet.rows))
    columns = range(grid_range.get("startColumnIndex", 0), grid_range.get("endColumnIndex", sheet.columns))
    return [(r, c) for r in rows for c in columns]


def _set_fields(
    sheet: Sheet, key: tuple[int, int], data: Mapping[str, Any], paths: list[tuple[str, ...]]
) -> None:
    """Apply the masked fields of a CellData to one cell; a field in the mask but not in the data is
    cleared."""
    cell = sheet.cells.get(key) or {"value": None, "formula": None, "format": {}}
    cell = {**cell, "format": dict(cell["format"])}
    for path in paths:
        if path in (("*",), ("userEnteredValue",)):
            entered = data.get("userEnteredValue")
            if entered is None:
                cell["value"] = cell["formula"] = None
            else:
                ((kind, value),) = entered.items()
                # Counted in UTF-16 code units, as Google's front end (JavaScript) counts a string: the
                # stricter of the two ways it could count.
                if isinstance(value, str) and utf16_length(value) > CELL_CHARACTERS:
                    raise ApiError(
                        400,
                        f"Your input contains more than the maximum of {CELL_CHARACTERS} characters in a "
                        "single cell.",
                        "INVALID_ARGUMENT",
                    )
                cell["value"], cell["formula"] = value, value if kind == "formulaValue" else None
        if path in (("*",), ("userEnteredFormat",)):
            cell["format"] = dict(data.get("userEnteredFormat", {}))
        elif path[0] == "userEnteredFormat":
            given = data.get("userEnteredFormat", {})
            if path[1] in given:
                cell["format"][path[1]] = given[path[1]]
            else:
                cell["format"].pop(path[1], None)
    if cell["value"] is None and not cell["format"]:
        sheet.cells.pop(key, None)
    else:
        sheet.cells[key] = cell


def _entered(value: Any, *, parse: bool = True) -> dict[str, Any]:
    """A cell typed in the Sheets UI: "=…" is a formula (its value unknown here), the rest as is."""
    if parse and isinstance(value, str) and value.startswith("="):
        return {"value": "#N/A", "formula": value, "format": {}}
    return {"value": value, "formula": None, "format": {}}


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _body(request: requests.PreparedRequest) -> Any:
    raw = request.body
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    try:
        return json.loads(text)
    except ValueError:
        return text


def _error(status: int, message: str, reason: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": reason}}


def _response(request: requests.PreparedRequest, status: int, payload: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(payload).encode()
    response.headers["Content-Type"] = "application/json; charset=UTF-8"
    response.url = request.url or ""
    response.request = request
    response.encoding = "utf-8"
    return response


def service_account_file(
    folder: Any, email: str = "otop-sync@nongkhai.iam.gserviceaccount.com", *, token_uri: str = TOKEN_URI
) -> Any:
    """A service-account key file with a real RSA key, whose token_uri is the fake's (or `token_uri`)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    info = {
        "type": "service_account",
        "project_id": "otop-nongkhai",
        "private_key_id": "fake-key-1",
        "private_key": pem.decode(),
        "client_email": email,
        "client_id": "1",
        "token_uri": token_uri,
    }
    path = folder / "service-account.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    path.chmod(0o600)  # as the README has the operator keep it: readable by the service's user alone
    return path


def plain(rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """Rows as the API would hand them back: numbers as floats, empty cells as ""."""
    return [
        [float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in row]
        for row in rows
    ]


class LoopbackServer:
    """A fake API behind a real HTTP server on 127.0.0.1, for the command line's own HTTP stack."""

    def __init__(self, api: BaseAdapter) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                prepared = requests.Request(
                    self.command,
                    f"http://{self.headers['Host']}{self.path}",
                    headers=dict(self.headers),
                    data=body,
                ).prepare()
                answer = api.send(prepared, timeout=self.server.timeout)  # type: ignore[attr-defined]
                self.send_response(answer.status_code)
                # The fake's own headers go through (a redirect's Location, LINE's accepted request ID).
                for name, value in answer.headers.items():
                    if name.lower() not in (
                        "content-type",
                        "content-length",
                        "transfer-encoding",
                        "connection",
                    ):
                        self.send_header(name, value)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_HEAD = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
