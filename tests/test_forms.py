"""The province's Google Form through the Forms API: `form --apply` and the form's part of `check`, end to
end on a real HTTP stack, against a fake that holds every request to the discovery document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import time_machine

from otop_sync.cells import read_month
from otop_sync.cli import main
from otop_sync.demo import BASE_YEAR_TAB, demo_tabs
from otop_sync.google_forms import SCOPE_EDIT, SCOPE_READ
from otop_sync.periods import Month
from otop_sync.responses import Tab
from otop_sync.sources.workbook import write_new_workbook

from .conftest import CONFIG, bkk
from .fake_forms import FakeFormsAPI
from .fake_sheets import LoopbackServer, service_account_file

FORM = "1FAIpQLSfOtopNongKhaiForm"
SHEET = "1AbCdEfGhIjKlMnOpQrStUvWxYz"
APPLY = ["form", "--apply", FORM, "--fiscal-year", "2567"]


@dataclass
class Google:
    api: FakeFormsAPI
    config: Path  # a copy of the shipped configuration, with the form and the spreadsheet configured


@pytest.fixture
def google(tmp_path: Path, province: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Google]:
    api = FakeFormsAPI()
    with LoopbackServer(api) as loopback:
        key_file = service_account_file(tmp_path, token_uri=loopback.url + "/token")
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
        monkeypatch.setenv("OTOP_SYNC_FORMS_ENDPOINT", loopback.url)
        monkeypatch.setenv("OTOP_SYNC_CONFIG", str(province))
        monkeypatch.chdir(tmp_path)
        settings = province / "province.toml"
        text = settings.read_text(encoding="utf-8")
        text = text.replace('form_id = ""', f'form_id = "{FORM}"')
        # The form's own link (the fake's responderUri): `check` compares it, and follows nothing.
        text = text.replace(
            'form_url = "https://forms.gle/otop-nongkhai-example"',
            f'form_url = "https://docs.google.com/forms/d/e/published-{FORM}/viewform?usp=sf_link"',
        )
        settings.write_text(
            text.replace('spreadsheet_key = ""', f'spreadsheet_key = "{SHEET}"'), encoding="utf-8"
        )
        # Early in fiscal year 2567: the months still counting are that year's twelve, whatever today is.
        with time_machine.travel(bkk(2023, 12, 1, 9)):
            yield Google(api, province)
        assert api.violations == []  # every request the discovery document allows


def titles(api: FakeFormsAPI) -> list[str]:
    return [item["title"] for item in api.forms[FORM].items]


def question(api: FakeFormsAPI, title: str) -> dict[str, Any]:
    item = next(i for i in api.forms[FORM].items if i["title"] == title)
    return item["questionItem"]["question"]  # type: ignore[no-any-return]


def choices(api: FakeFormsAPI, title: str) -> list[str]:
    return [o["value"] for o in question(api, title)["choiceQuestion"]["options"]]


def test_apply_turns_an_empty_form_into_the_configured_one(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    api = google.api
    api.add_form(FORM, linked_sheet=SHEET)
    assert main(APPLY) == 0
    out = capsys.readouterr().out
    columns = CONFIG.form.columns
    assert titles(api) == [
        columns[f][0] for f in ("district", "month", "new_products", "sales", "reporter", "phone", "remarks")
    ]
    district = question(api, "อำเภอ")
    assert district["choiceQuestion"]["type"] == "DROP_DOWN"
    assert choices(api, "อำเภอ") == [d.name for d in CONFIG.province.districts]
    months = choices(api, "เดือนที่รายงาน")
    assert (months[0], months[-1], len(months)) == ("ตุลาคม 2566", "กันยายน 2567", 12)
    assert question(api, columns["sales"][0])["required"] is True
    assert question(api, "หมายเหตุ")["textQuestion"] == {"paragraph": True}
    assert "will add question 'อำเภอ' (a dropdown)" in out
    # What the API cannot do is printed, never skipped: the validation of the two figures.
    assert out.count("by hand: question") == 2
    assert len(api.batch_updates()) == 1  # one batch, all or nothing
    # Applying asks for forms.body only.
    assert set().union(*api.scopes.values()) == {SCOPE_EDIT}


def test_a_second_apply_changes_nothing(google: Google, capsys: pytest.CaptureFixture[str]) -> None:
    google.api.add_form(FORM, linked_sheet=SHEET)
    assert main(APPLY) == 0
    revision = google.api.forms[FORM].revision
    capsys.readouterr()
    assert main(APPLY) == 0
    assert f"({FORM}): 0 change(s)" in capsys.readouterr().out
    assert len(google.api.batch_updates()) == 1
    assert google.api.forms[FORM].revision == revision


def test_choices_and_descriptions_are_updated_in_place(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    api = google.api
    api.add_form(FORM, linked_sheet=SHEET)
    assert main(APPLY) == 0
    district_id = next(i["itemId"] for i in api.forms[FORM].items if i["title"] == "อำเภอ")
    # A new fiscal year, once the last one's fourth quarter has closed: the month choices roll over; the
    # question keeps its ID (its answers' column).
    capsys.readouterr()
    with time_machine.travel(bkk(2024, 10, 20, 9)):
        assert main(["form", "--apply", FORM]) == 0
    out = capsys.readouterr().out
    assert "will update question 'เดือนที่รายงาน': the 12 choices (adds ตุลาคม 2567, " in out
    assert "; removes ตุลาคม 2566, พฤศจิกายน 2566, " in out
    assert choices(api, "เดือนที่รายงาน")[0] == "ตุลาคม 2567"
    assert next(i["itemId"] for i in api.forms[FORM].items if i["title"] == "อำเภอ") == district_id
    assert len(titles(api)) == 7


def test_a_renamed_question_is_reported_not_renamed(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    api = google.api
    typed_by_hand = "จำนวนผลิตภัณฑ์ OTOP ที่ลงทะเบียนเพิ่มในไตรมาส (สะสม)"  # "นี้" left out
    api.add_form(
        FORM,
        linked_sheet=SHEET,
        items=[{"title": typed_by_hand, "questionItem": {"question": {"textQuestion": {}}}}],
    )
    assert main(APPLY) == 0
    out = capsys.readouterr().out
    assert f"not changed: question {typed_by_hand!r} looks like" in out
    assert "rename it in the form editor to exactly" in out
    assert typed_by_hand in titles(api)  # never renamed
    assert CONFIG.form.columns["new_products"][0] not in titles(api)  # nor duplicated
    assert len(titles(api)) == 7


def test_a_question_of_another_type_is_reported_not_retyped(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    google.api.add_form(
        FORM,
        linked_sheet=SHEET,
        items=[{"title": "อำเภอ", "questionItem": {"question": {"textQuestion": {}}}}],
    )
    assert main(APPLY) == 0
    assert "question 'อำเภอ' is a short answer, otop_sync expects a dropdown" in capsys.readouterr().out
    assert "textQuestion" in question(google.api, "อำเภอ")


def test_dry_run_changes_nothing_and_reads_with_the_read_only_scope(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    google.api.add_form(FORM, linked_sheet=SHEET)
    assert main([*APPLY, "--dry-run"]) == 0
    assert "would add question 'อำเภอ'" in capsys.readouterr().out
    assert google.api.batch_updates() == []
    assert google.api.forms[FORM].items == []
    assert set().union(*google.api.scopes.values()) == {SCOPE_READ}


def test_the_applied_form_answers_are_read_without_a_rejection(
    google: Google, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    api = google.api
    api.add_form(FORM, linked_sheet=SHEET)
    assert main(APPLY) == 0
    districts, months = choices(api, "อำเภอ"), choices(api, "เดือนที่รายงาน")
    header = ("ประทับเวลา", *titles(api))  # what Google Forms writes to the linked sheet's first row
    rows = [(_tenth(m), d, m, 1, 50000, "ผู้รายงาน", "0812345678", "") for m in months for d in districts]
    path = tmp_path / "answers.xlsx"
    base = next(t for t in demo_tabs() if t.title == BASE_YEAR_TAB)
    write_new_workbook(path, (Tab(CONFIG.form.tabs.responses[0], (header, *rows)), base))
    capsys.readouterr()
    assert main(["run", "--workbook", str(path), "--as-of", "2024-09-30T12:00", "--json", "--dry-run"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rejected"] == []
    assert result["rows"]["read"] == 12 * len(districts)


def _tenth(choice: str) -> datetime:
    month = read_month(choice)
    assert isinstance(month, Month)
    return datetime(month.year, month.month, 10, 9)


# The form's part of `otop-sync check` ------------------------------------------------------------------


def checked(google: Google, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["check", "--workbook", str(_demo_workbook())])
    return code, [line for line in capsys.readouterr().out.splitlines() if line.startswith("form:")]


def _demo_workbook() -> Path:
    path = Path("demo.xlsx")
    if not path.exists():
        assert main(["demo", "--output", str(path)]) == 0
    return path


def applied(google: Google, capsys: pytest.CaptureFixture[str], **form: Any) -> None:
    google.api.add_form(FORM, **{"linked_sheet": SHEET, **form})
    assert main(["form", "--apply"]) == 0  # the configured form, for the current fiscal year
    capsys.readouterr()


def test_check_accepts_the_applied_form_with_the_read_only_scope(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(google, capsys)
    google.api.scopes.clear()
    code, lines = checked(google, capsys)
    assert all(line.endswith("ok") for line in lines), lines
    assert f"form: writes to spreadsheet {SHEET}: ok" in lines
    assert set().union(*google.api.scopes.values()) == {SCOPE_READ}
    assert code == 0


def test_check_reports_a_form_linked_to_another_spreadsheet(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(google, capsys, linked_sheet="1SomeoneElsesSpreadsheetKey")
    code, lines = checked(google, capsys)
    assert code == 1
    assert (
        f"form: the form writes to spreadsheet 1SomeoneElsesSpreadsheetKey, otop_sync reads {SHEET}: "
        "การตอบกลับ (Responses) → ลิงก์กับชีต (Link to Sheets), or set [google] spreadsheet_key"
    ) in lines


def test_check_reports_a_missing_question_and_a_missing_district(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(google, capsys)
    form = google.api.forms[FORM]
    form.items = [i for i in form.items if i["title"] != "เดือนที่รายงาน"]
    options = form.items[0]["questionItem"]["question"]["choiceQuestion"]["options"]
    options[:] = [o for o in options if o["value"] != "สังคม"] + [{"value": "บึงกาฬ"}]
    code, lines = checked(google, capsys)
    assert code == 1
    assert "form: no question 'เดือนที่รายงาน': `otop-sync form --apply` adds it" in lines
    assert (
        "form: the district choices differ (missing สังคม; not a configured district: บึงกาฬ): "
        "`otop-sync form --apply`"
    ) in lines


def test_check_reports_an_unpublished_form(google: Google, capsys: pytest.CaptureFixture[str]) -> None:
    applied(google, capsys, published=False, accepting=False)
    code, lines = checked(google, capsys)
    assert code == 1
    assert "form: not published: Publish (เผยแพร่) in the form editor" in lines


def test_a_form_not_shared_is_one_line_naming_the_account(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    google.api.add_form(FORM, shared=False)
    assert main(APPLY) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"otop-sync: error: form {FORM}: permission denied: share the form with ")
    assert "as an Editor" in err[0]


def test_a_form_edited_meanwhile_is_not_overwritten(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    api = google.api
    form = api.add_form(FORM, linked_sheet=SHEET)
    real_get = api._form

    def edited_after_reading(path: str) -> Any:  # someone saves the form between the read and the write
        found = real_get(path)
        if path.endswith(":batchUpdate"):
            found.revision += 1
        return found

    api._form = edited_after_reading  # type: ignore[method-assign]
    assert main(APPLY) == 1
    assert "the form was changed after otop_sync read it" in capsys.readouterr().err
    assert form.items == []


def test_an_update_whose_answer_was_lost_is_not_made_twice(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    api = google.api
    api.add_form(FORM, linked_sheet=SHEET)
    api.lose_next_answer = True  # applied, but the answer never came: the retry finds a newer revision
    assert main(APPLY) == 0  # the form, read again, shows the change went through
    out = capsys.readouterr().out
    assert "form updated: applied (Google's answer was lost; confirmed by reading the form;" in out
    assert len(titles(api)) == 7  # once, not twice
    assert main(APPLY) == 0  # run again, as the line says: nothing left to change
    assert "0 change(s)" in capsys.readouterr().out
    assert len(titles(api)) == 7


def test_the_form_id_may_be_the_editor_url_but_not_the_respondents_link(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    google.api.add_form(FORM, linked_sheet=SHEET)
    assert main(["form", "--apply", f"https://docs.google.com/forms/d/{FORM}/edit", "--dry-run"]) == 0
    with pytest.raises(SystemExit):
        main(["form", "--apply", f"https://docs.google.com/forms/d/e/{FORM}/viewform"])
    assert "is the form's link for respondents, not its ID" in capsys.readouterr().err


# The contract check finds each kind of mistake in a real batch -------------------------------------------

REAL_BATCH = "v1/forms/" + FORM + ":batchUpdate"


def real_batch() -> dict[str, Any]:
    """What `form --apply` sends to an empty form, as plan() builds it."""
    from otop_sync.form_questions import expected_form
    from otop_sync.google_forms import plan

    requests_ = plan({"items": [], "revisionId": "r1"}, expected_form(CONFIG, fiscal_year=2567)).requests
    return {"requests": [dict(r) for r in requests_], "writeControl": {"requiredRevisionId": "r1"}}


def test_the_real_batch_is_what_the_document_allows() -> None:
    from .contract import forms

    assert forms().check("POST", REAL_BATCH, {}, real_batch()) == []


@pytest.mark.parametrize(
    ("breakage", "found"),
    [
        (
            lambda b: b["requests"][0]["createItem"]["item"]["questionItem"]["question"][
                "choiceQuestion"
            ].update(type="DROPDOWN"),
            "(TYPE_ENUM)",
        ),
        (lambda b: b["requests"][0]["createItem"].pop("location"), "CreateItemRequest.location is required"),
        (
            lambda b: b["requests"][0]["createItem"]["item"]["questionItem"]["question"][
                "choiceQuestion"
            ].pop("type"),
            "ChoiceQuestion.type is required",
        ),
        (
            lambda b: b["requests"][0].update(
                updateFormInfo={"info": {"description": "x"}, "updateMask": "description"}
            ),
            "one of",
        ),
        (
            lambda b: b["requests"][-1]["updateFormInfo"].update(updateMask="info.description"),
            "is not a field of Info",
        ),
        (
            lambda b: b["requests"][1]["createItem"]["item"].update(
                questionItem={"question": {"textQuestion": {"paragraf": True}}}
            ),
            'Unknown name "paragraf"',
        ),
    ],
)
def test_the_contract_check_finds_a_broken_batch(breakage: Any, found: str) -> None:
    from .contract import forms

    body = real_batch()
    breakage(body)
    problems = " ".join(map(str, forms().check("POST", REAL_BATCH, {}, body)))
    assert found in problems


def test_a_busy_forms_api_is_retried_then_given_up_in_one_line(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = google.config / "province.toml"
    shipped = settings.read_text(encoding="utf-8")
    google.api.add_form(FORM, linked_sheet=SHEET)
    google.api.faults = [503, 429]  # busy twice (waits of at most 1 s and 2 s), then read and updated
    assert main(APPLY) == 0
    assert len(titles(google.api)) == 7
    settings.write_text(shipped.replace("retry_for_seconds = 180", "retry_for_seconds = 2"), encoding="utf-8")
    google.api.faults = [503] * 50
    assert main(APPLY) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "otop-sync: error: could not read the form: Google Forms kept answering HTTP 503: try again later"
    ]


# The form follows the quarter's life ------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 1, 2])
def test_september_stays_offered_until_the_fourth_quarter_closes(
    google: Google, offset: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # `form --apply` on 1 October (the monthly cron line) replaced the choices with the new fiscal year's:
    # September's report, due on 15 October under month_offset 1, could no longer be sent.
    schedule = google.config / "schedule.toml"
    schedule.write_text(
        schedule.read_text(encoding="utf-8").replace("month_offset = 0", f"month_offset = {offset}"),
        encoding="utf-8",
    )
    google.api.add_form(FORM, linked_sheet=SHEET)
    with time_machine.travel(bkk(2024, 10, 1, 6)):
        assert main(["form", "--apply"]) == 0
    months = choices(google.api, "เดือนที่รายงาน")
    assert "กันยายน 2567" in months
    assert "ตุลาคม 2567" in months  # and the new fiscal year, as it starts
    # Once the quarter has closed, September goes, and the options say so.
    closed = {0: bkk(2024, 10, 16, 6), 1: bkk(2024, 11, 15, 6), 2: bkk(2024, 12, 16, 6)}[offset]
    capsys.readouterr()
    with time_machine.travel(closed):
        assert main(["form", "--apply", "--dry-run"]) == 0
        assert "removes กรกฎาคม 2567, สิงหาคม 2567, กันยายน 2567" in capsys.readouterr().out
        assert "กันยายน 2567" in choices(google.api, "เดือนที่รายงาน")  # a dry run changes nothing
        assert main(["form", "--apply"]) == 0
    assert "กันยายน 2567" not in choices(google.api, "เดือนที่รายงาน")


def test_an_options_update_keeps_each_kept_option_as_the_form_holds_it(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    api = google.api
    api.add_form(FORM, linked_sheet=SHEET)
    with time_machine.travel(bkk(2024, 9, 20, 9)):
        assert main(["form", "--apply"]) == 0
    # A coordinator sends September's answers to a section of their own, with a picture on the option.
    month = question(api, "เดือนที่รายงาน")
    month["choiceQuestion"]["type"] = "RADIO"
    september = next(o for o in month["choiceQuestion"]["options"] if o["value"] == "กันยายน 2567")
    september["goToAction"] = "SUBMIT_FORM"
    month["choiceQuestion"]["options"].append({"value": "อื่น ๆ", "isOther": True})
    capsys.readouterr()
    with time_machine.travel(bkk(2024, 10, 1, 6)):
        assert main(["form", "--apply"]) == 0
    out = capsys.readouterr().out
    # Named, every one: the new fiscal year's twelve; nothing removed, since Q4 is still in its grace period.
    assert "will update question 'เดือนที่รายงาน': the 15 choices (adds ตุลาคม 2567, พฤศจิกายน 2567, " in out
    assert "removes" not in out
    options = question(api, "เดือนที่รายงาน")["choiceQuestion"]["options"]
    kept = next(o for o in options if o["value"] == "กันยายน 2567")
    assert kept.get("goToAction") == "SUBMIT_FORM"  # the branching stays
    assert options[-1] == {"value": "อื่น ๆ", "isOther": True}  # "Other" stays, last


def test_check_compares_the_qr_codes_link_with_the_form(
    google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    google.api.add_form(FORM, linked_sheet=SHEET)
    assert main(["form", "--apply"]) == 0
    capsys.readouterr()
    main(["check", "--workbook", str(_demo_workbook())])
    assert "form: [province] form_url leads to this form (" in capsys.readouterr().out
    # The letter's QR code points at an older form: check says so, and fails.
    province = google.config / "province.toml"
    text = province.read_text(encoding="utf-8")
    province.write_text(
        text.replace(f"published-{FORM}/viewform", "published-1FAIpQLSfAnOlderForm/viewform"),
        encoding="utf-8",
    )
    assert main(["check", "--workbook", str(_demo_workbook())]) == 1
    out = capsys.readouterr().out
    assert (
        "form: [province] form_url leads to https://docs.google.com/forms/d/e/published-1FAIpQLSfAnOlderForm"
        in out
    )
    assert "the QR code of the letter and the brief would open another form" in out


def test_check_follows_a_short_link_to_the_form(google: Google, capsys: pytest.CaptureFixture[str]) -> None:
    # forms.gle answers a short link with a redirect to the form's own link; here a loopback server does.
    target = f"https://docs.google.com/forms/d/e/published-{FORM}/viewform?usp=send_form"
    google.api.add_form(FORM, linked_sheet=SHEET)
    short = Redirect(target)
    with LoopbackServer(short) as server:
        province = google.config / "province.toml"
        text = province.read_text(encoding="utf-8")
        start = text.index("form_url = ")
        end = text.index("\n", start)
        province.write_text(text[:start] + f'form_url = "{server.url}/abc123"' + text[end:], encoding="utf-8")
        assert main(["form", "--apply"]) == 0
        capsys.readouterr()
        main(["check", "--workbook", str(_demo_workbook())])
        assert short.paths == ["/abc123"]
    assert (
        f"form: [province] form_url leads to this form (https://docs.google.com/forms/d/e/published-{FORM}"
        in (capsys.readouterr().out)
    )


class Redirect(requests.adapters.BaseAdapter):
    """A short-link service: every request is answered 302 to `target`; the paths asked are kept."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target
        self.paths: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.paths.append(urlsplit(request.url or "").path)
        answer = requests.Response()
        answer.status_code, answer.headers["Location"], answer._content = 302, self.target, b""
        return answer

    def close(self) -> None:
        pass
