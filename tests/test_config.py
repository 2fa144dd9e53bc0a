"""The configuration: checked once at start-up, errors naming the file and the key."""

from pathlib import Path

import pytest

from otop_sync.cli import main
from otop_sync.errors import ConfigError
from otop_sync.periods import Quarter
from otop_sync.rules import Grade
from otop_sync.settings import config_dir, load_config, shipped_dir

from .builders import edit
from .conftest import answer, bkk, district, run, sheet


def test_the_shipped_configuration_is_nong_khai() -> None:
    config = load_config(shipped_dir("config"))
    codes = [d.code for d in config.province.districts]
    assert codes == ["4301", "4302", "4305", "4307", "4308", "4314", "4315", "4316", "4317"]
    assert config.province.department == "กรมการพัฒนาชุมชน"
    assert config.deadlines.due_day == 15
    rubric = config.rubric_for(Quarter(2567, 4))
    assert rubric is not None
    assert [(g.grade, g.products.operator, g.growth_pct.operator) for g in rubric.grades] == [
        (Grade.A, ">=", ">"),
        (Grade.B, ">=", ">"),
        (Grade.C, ">=", ">"),
    ]


def test_config_dir_prefers_the_option_then_the_environment(tmp_path: Path) -> None:
    assert config_dir(str(tmp_path), {"OTOP_SYNC_CONFIG": "/elsewhere"}) == tmp_path
    assert config_dir(None, {"OTOP_SYNC_CONFIG": "/elsewhere"}) == Path("/elsewhere")
    assert config_dir(None, {}) == shipped_dir("config")


def test_a_newer_rubric_applies_from_its_fiscal_year_on(province: Path) -> None:
    newer = """
[[version]]
from_fiscal_year = 2568
fallback = "D"

[[version.grades]]
grade = "A"
products = { operator = ">=", value = 5 }
growth_pct = { operator = ">", value = "10" }
"""
    (province / "rubric.toml").write_text((province / "rubric.toml").read_text() + newer, encoding="utf-8")
    config = load_config(province)
    answers = [
        answer(bkk(2024, 9, 10), "ท่าบ่อ", "ก.ย. 2567", 3, 400000),
        answer(bkk(2025, 9, 10), "ท่าบ่อ", "ก.ย. 2568", 3, 400000),
    ]
    base_rows = [("ท่าบ่อ", "ไตรมาส 4/2566", 300000), ("ท่าบ่อ", "ไตรมาส 4/2567", 300000)]
    outcome = run(sheet(answers, base_rows), bkk(2025, 9, 20), config=config)
    by_quarter = {r.quarter.code: r.grade for r in outcome.every_quarter if r.district.code == "4302"}
    assert by_quarter == {"2567Q4": Grade.A, "2568Q4": Grade.D}
    assert district(outcome, "4302").grade is Grade.D


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (
            "rubric.toml",
            'operator = ">"',
            'operator = "=>"',
            "rubric.toml: version[0].grades[0].growth_pct.operator",
        ),
        ("rubric.toml", 'grade = "A"', 'grade = "E"', "rubric.toml: version[0].grades[0].grade: 'E' is not"),
        (
            "rubric.toml",
            "from_fiscal_year = 2567",
            "from_fiscal_year = 2024",
            "from_fiscal_year: 2024 should be",
        ),
        ("schedule.toml", "due_day = 15", "due_day = 32", "schedule.toml: deadlines.due_day"),
        (
            "schedule.toml",
            'timezone = "Asia/Bangkok"',
            'timezone = "Mars/Olympus"',
            "schedule.toml: timezone",
        ),
        (
            "province.toml",
            'code = "4302"',
            'code = "4301"',
            "province.toml: districts[2] (ท่าบ่อ).code: 4301 is listed",
        ),
        (
            "province.toml",
            '"Tha Bo"',
            '"เมือง"',
            "province.toml: districts[2] (ท่าบ่อ).aliases: 'เมือง' reads as district",
        ),
        ("province.toml", 'code = "4302"', 'code = "Tha Bo"', "province.toml: districts[2] (ท่าบ่อ).code"),
        ("form.toml", 'summary = "สรุปผล"', 'summary = "ผลรายไตรมาส"', "form.toml: tabs.summary"),
        ("form.toml", "[columns]", "[columns\n", "form.toml: (syntax)"),
        # A tab otop_sync adds must be one Excel opens without "repairing" the workbook.
        (
            "form.toml",
            'summary = "สรุปผล"',
            'summary = "สรุปผลการรายงานภารกิจสำคัญ OTOP ไตรมาสปัจจุบัน"',
            "form.toml: tabs.summary: 'สรุปผลการรายงานภารกิจสำคัญ OTOP ไตรมาสปัจจุบัน' has 46 characters; "
            "Excel names a tab with 31 at most",
        ),
        (
            "form.toml",
            'problems = "ตรวจสอบข้อมูล"',
            'problems = "ตรวจสอบ/แก้ไข"',
            "form.toml: tabs.problems: 'ตรวจสอบ/แก้ไข' holds '/', which Excel does not allow",
        ),
        # The brief prints the form's link as a QR code: a prefilled link can be longer than one holds.
        (
            "province.toml",
            'form_url = "https://forms.gle/otop-nongkhai-example"',
            'form_url = "https://docs.google.com/forms/d/e/x/viewform?' + "entry.1=abc&" * 200 + '"',
            "province.toml: province.form_url: 2,445 bytes is more than a QR code holds (2,331): use the "
            "form's short link",
        ),
        # Numbers no timer or rubric can take (TOML reads inf and nan; Decimal reads "NaN").
        (
            "province.toml",
            "timeout_seconds = 60",
            "timeout_seconds = inf",
            "brief.timeout_seconds: inf should",
        ),
        (
            "province.toml",
            "timeout_seconds = 30",
            "timeout_seconds = nan",
            "google.timeout_seconds: nan should",
        ),
        (
            "province.toml",
            "retry_for_seconds = 180",
            "retry_for_seconds = 1e300",
            "google.retry_for_seconds: 1e+300 should be a number above 0 and at most 1,000,000",
        ),
        (
            "rubric.toml",
            'growth_pct = { operator = ">", value = "5" }',
            'growth_pct = { operator = ">", value = "NaN" }',
            "'NaN' is not a finite number",
        ),
        (
            "rubric.toml",
            'growth_pct = { operator = ">", value = "3" }',
            'growth_pct = { operator = ">", value = "-Infinity" }',
            "'-Infinity' is not a finite number",
        ),
        # A typo in a required key: the unknown key is named beside the missing one.
        (
            "province.toml",
            'office = "สำนักงานพัฒนาชุมชนจังหวัดหนองคาย"',
            'offce = "สำนักงานพัฒนาชุมชนจังหวัดหนองคาย"',
            "province.toml: province.office: is missing (offce is not a key otop_sync knows: did you mean "
            "office?)",
        ),
        # A district is named as a person counts, and by its name.
        ("province.toml", 'code = "4308"\n', "", "province.toml: districts[5] (สังคม).code: is missing"),
        # A repeated name is blamed on the entry that repeats it, at its name.
        (
            "province.toml",
            'name = "สังคม"',
            'name = "ท่าบ่อ"',
            "province.toml: districts[5] (ท่าบ่อ).name: 'ท่าบ่อ' reads as",
        ),
        # A code of another province.
        (
            "province.toml",
            'code = "4317"',
            'code = "4117"',
            "province.toml: districts[9] (โพธิ์ตาก).code: 4117 is not a district of province 43 (whose "
            "district codes begin with 43): check the code, or [province] code",
        ),
    ],
)
def test_configuration_errors_name_the_file_and_key(
    province: Path, name: str, old: str, new: str, message: str
) -> None:
    edit(province, name, old, new)
    with pytest.raises(ConfigError) as caught:
        load_config(province)
    assert message in str(caught.value)
    assert str(province) in str(caught.value)


def test_a_missing_file_is_named(province: Path) -> None:
    (province / "rubric.toml").unlink()
    with pytest.raises(ConfigError, match=r"rubric\.toml: \(file\): is missing"):
        load_config(province)


def test_a_file_saved_as_windows_thai_gets_the_fix_in_its_line(province: Path) -> None:
    path = province / "province.toml"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp874"))
    with pytest.raises(ConfigError) as caught:
        load_config(province)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        f"configuration {path}: (file): is not UTF-8 text (it looks saved as Windows Thai"
    )
    assert "save it as UTF-8 (in Notepad: Save As, Encoding: UTF-8)" in message


def test_more_districts_than_the_brief_can_render_in_time_are_refused(province: Path) -> None:
    path = province / "province.toml"
    extra = "".join(f'\n[[districts]]\ncode = "{9000 + n}"\nname = "อำเภอที่ {n}"\n' for n in range(1_000))
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(province)
    assert str(caught.value).endswith(
        "province.toml: districts: 1,009 districts; otop_sync grades at most 1,000 in one configuration "
        "(all of Thailand has 928), so that the brief renders within its time limit"
    )


def test_a_district_code_typed_without_quotes_is_the_same_code(province: Path) -> None:
    edit(province, "province.toml", 'code = "4301"', "code = 4301")
    assert load_config(province).province.districts[0].code == "4301"


def test_with_a_data_folder_what_otop_sync_writes_lands_there_and_the_rest_stays_beside_the_config(
    province: Path, tmp_path: Path
) -> None:
    # The Docker image mounts the configuration read-only and sets OTOP_SYNC_DATA_DIR to its volume.
    edit(province, "province.toml", 'templates = ""', 'templates = "my-templates"')
    edit(province, "schedule.toml", 'log_file = ""', 'log_file = "otop-sync.log"')
    data = tmp_path / "volume"
    config = load_config(province, {"OTOP_SYNC_DATA_DIR": str(data)})
    assert config.service.state_dir == data / "state"
    assert config.brief.output == data / "briefs"
    assert config.service.log_file == data / "otop-sync.log"
    assert config.brief.templates == province.resolve() / "my-templates"  # read, not written: the config's
    # An absolute path is its own, whatever the data folder.
    edit(province, "schedule.toml", 'state_dir = "state"', 'state_dir = "/srv/otop/state"')
    assert load_config(province, {"OTOP_SYNC_DATA_DIR": str(data)}).service.state_dir == Path(
        "/srv/otop/state"
    )
    # Unset: relative to the configuration's folder, as before.
    assert load_config(province, {}).brief.output == province.resolve() / "briefs"


def test_the_shipped_configuration_mounted_read_only_writes_into_the_data_folder(
    province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "volume"
    data.mkdir()
    monkeypatch.chdir(data)
    monkeypatch.setenv("OTOP_SYNC_DATA_DIR", str(data))
    province.chmod(0o555)  # root (CI) writes anyway: the last line is the real check
    try:
        assert (
            main(["run", "--config", str(province), "--workbook", "w.xlsx", "--as-of", "2024-09-16T08:00"])
            == 1
        )
        assert main(["demo", "--config", str(province), "w.xlsx"]) == 0
        assert main(["run", "--config", str(province), "--workbook", str(data / "w.xlsx")]) == 0
    finally:
        province.chmod(0o755)
    assert sorted(p.name for p in (data / "briefs").iterdir())[-1] == "brief-latest.pdf"
    assert (data / "state" / "runs.json").is_file()
    assert sorted(p.name for p in province.iterdir()) == sorted(
        p.name for p in shipped_dir("config").iterdir()
    )


def test_drive_takes_an_id_or_the_link_a_person_copies_and_one_set_up_at_a_time(province: Path) -> None:
    link = "https://drive.google.com/file/d/1xYzAbCdEfGhIjKlMnOp/view?usp=sharing"
    edit(province, "province.toml", 'latest_pdf_id = ""', f'latest_pdf_id = "{link}"')
    assert load_config(province).drive.latest_pdf_id == "1xYzAbCdEfGhIjKlMnOp"
    folder = "https://drive.google.com/drive/folders/0AbCdEfGhIjKlMnOpQ"
    edit(province, "province.toml", 'folder_id = ""', f'folder_id = "{folder}"')
    with pytest.raises(ConfigError, match=r"drive\.folder_id: choose one set-up"):
        load_config(province)
    edit(province, "province.toml", f'latest_pdf_id = "{link}"', 'latest_pdf_id = ""')
    assert load_config(province).drive.folder_id == "0AbCdEfGhIjKlMnOpQ"
    edit(province, "province.toml", f'folder_id = "{folder}"', 'folder_id = "my brief"')
    with pytest.raises(ConfigError, match=r"'my brief' is not a Drive file or folder ID"):
        load_config(province)
    edit(province, "province.toml", 'folder_id = "my brief"', 'folder_id = ""')
    edit(province, "province.toml", 'latest_html_id = ""', 'latest_html_id = "1AbCdEfGhIjKlMnOpQ"')
    with pytest.raises(ConfigError, match=r"latest_pdf_id: is missing: latest_html_id is published beside"):
        load_config(province)
