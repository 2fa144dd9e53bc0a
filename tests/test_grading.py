"""The grading rules of SPEC.md, through the sync use case on a spreadsheet held in memory."""

from decimal import Decimal

import pytest

from otop_sync.grading import Status, Timeliness
from otop_sync.rules import Grade

from .conftest import Q4_2566, D, answer, base, bkk, district, run, sheet

AFTER_Q4 = bkk(2024, 9, 16, 8, 0)


def graded(products: int, sales: object, base_rows=Q4_2566):  # type: ignore[no-untyped-def]
    """Tha Bo's September report with these figures, against a base of 300,000 for Jul-Sep 2566."""
    outcome = run(
        sheet([answer(bkk(2024, 9, 10), "ท่าบ่อ", "ก.ย. 2567", products, sales)], base_rows), AFTER_Q4
    )
    return district(outcome, "4302")


@pytest.mark.parametrize(
    ("products", "sales", "grade"),
    [
        (3, 315001, Grade.A),  # +5.0003 %
        (3, 315000, Grade.B),  # exactly +5 %: "more than 5" fails
        (2, 309001, Grade.B),
        (2, 309000, Grade.C),  # exactly +3 %
        (1, 306001, Grade.C),
        (1, 306000, Grade.D),  # exactly +2 %: the boundary falls to D
        (3, 306000, Grade.D),
        (0, 400000, Grade.D),  # no new product: D whatever the sales
        (1, 400000, Grade.C),  # exactly 1 product: "at least 1"
        (2, 400000, Grade.B),
        (3, 400000, Grade.A),
    ],
)
def test_rubric_boundaries(products: int, sales: int, grade: Grade) -> None:
    assert graded(products, sales).grade is grade


def test_a_district_gets_the_best_grade_whose_both_conditions_hold() -> None:
    five_products_small_growth = graded(5, 307500)  # +2.5 %
    assert five_products_small_growth.grade is Grade.C
    assert five_products_small_growth.products_level is Grade.A
    assert five_products_small_growth.growth_level is Grade.C
    no_product_big_growth = graded(0, 420000)  # +40 %
    assert no_product_big_growth.grade is Grade.D
    assert no_product_big_growth.products_level is Grade.D
    assert no_product_big_growth.growth_level is Grade.A


def test_money_is_exact_five_percent_is_b_not_a() -> None:
    # Float arithmetic gives 5.000000000000007 here, which would wrongly be an A.
    base_rows = [base("ท่าบ่อ", "ไตรมาส 4/2566", 1234567)]
    result = graded(3, 1296295.35, base_rows)
    assert result.growth_pct == Decimal(5)
    assert result.grade is Grade.B
    assert result.next_grade is not None
    assert result.next_grade.sales_needed == D("0.01")


def test_growth_is_compared_at_full_precision_not_rounded() -> None:
    result = graded(1, "306000.01")  # +2.0000033 %: shown as 2.00, still more than 2
    assert result.grade is Grade.C


def test_what_the_district_needs_for_the_next_grade() -> None:
    result = graded(1, 306600)  # +2.2 %, C
    assert result.grade is Grade.C
    needs = result.next_grade
    assert needs is not None
    assert needs.grade is Grade.B
    assert needs.products_needed == 1
    assert needs.sales_needed == D("2400.01")  # to 309,000.01: more than +3 %
    assert needs.growth_points_needed == D("0.8")


def test_no_next_grade_at_the_top() -> None:
    assert graded(3, 400000).next_grade is None


def test_next_grade_needs_only_what_is_missing() -> None:
    needs = graded(0, 400000).next_grade  # D for products alone
    assert needs is not None
    assert (needs.grade, needs.products_needed, needs.sales_needed) == (Grade.C, 1, 0)


def test_sales_are_compared_over_the_same_months() -> None:
    base_rows = [
        base("ท่าบ่อ", "ก.ค. 2566", 100000),
        base("ท่าบ่อ", "ส.ค. 2566", 200000),
        base("ท่าบ่อ", "ก.ย. 2566", 900000),
    ]
    outcome = run(sheet([answer(bkk(2024, 8, 10), "ท่าบ่อ", "ส.ค. 2567", 3, 330000)], base_rows), AFTER_Q4)
    result = district(outcome, "4302")
    assert result.base is not None
    assert result.base.sales == 300000  # July and August 2566 only
    assert result.growth_pct == 10
    assert result.grade is Grade.A


def test_a_quarter_total_base_is_used_whole_and_the_result_says_so() -> None:
    base_rows = [base("ท่าบ่อ", "ไตรมาส 4/2566", 600000)]
    outcome = run(sheet([answer(bkk(2024, 8, 10), "ท่าบ่อ", "ส.ค. 2567", 3, 660000)], base_rows), AFTER_Q4)
    result = district(outcome, "4302")
    assert result.base is not None
    assert result.base.sales == 600000
    assert result.base.whole_quarter_instead
    assert result.grade is Grade.A
    assert any("ทั้งไตรมาส" in note for note in result.notes)


def test_missing_base_year_gives_no_grade_and_says_why() -> None:
    result = graded(3, 400000, base_rows=[base("สังคม", "ไตรมาส 4/2566", 1)])
    assert result.status is Status.NO_BASE
    assert result.grade is None
    assert result.base is not None
    assert result.base.sales is None
    assert result.next_grade is None
    assert "ไม่มียอดจำหน่ายปีฐาน" in result.notes[0]


def test_zero_base_year_gives_no_grade_never_a_silent_d() -> None:
    result = graded(3, 400000, base_rows=[base("ท่าบ่อ", "ไตรมาส 4/2566", 0)])
    assert result.status is Status.NO_BASE
    assert result.grade is None
    assert result.base is not None
    assert result.base.sales == 0
    assert "เป็นศูนย์" in result.notes[0]


def test_a_district_that_never_reports() -> None:
    outcome = run(sheet([]), bkk(2024, 8, 20))
    result = district(outcome, "4315")
    assert result.status is Status.NOT_REPORTED
    assert result.grade is None
    assert result.report is None
    assert [r.timeliness for r in result.rounds] == [Timeliness.NOT_REPORTED, Timeliness.NOT_REPORTED]


def test_timeliness_at_the_deadline_second() -> None:
    answers = [
        answer(bkk(2024, 7, 15, 23, 59, 59), "ท่าบ่อ", "ก.ค. 2567", 1, 100000),
        answer(bkk(2024, 7, 16, 0, 0, 1), "สังคม", "ก.ค. 2567", 1, 100000),
    ]
    outcome = run(sheet(answers), bkk(2024, 7, 20))
    on_time, late = district(outcome, "4302").rounds[0], district(outcome, "4308").rounds[0]
    assert (on_time.timeliness, on_time.days_late) == (Timeliness.ON_TIME, 0)
    assert (late.timeliness, late.days_late) == (Timeliness.LATE, 1)


def test_rounds_not_yet_due_are_pending_and_later_months_absent() -> None:
    outcome = run(sheet([]), bkk(2024, 8, 10))
    rounds = district(outcome, "4301").rounds
    assert [(r.month.iso, r.timeliness) for r in rounds] == [
        ("2024-07", Timeliness.NOT_REPORTED),
        ("2024-08", Timeliness.PENDING),
    ]


def test_a_correction_after_the_deadline_counts_but_the_round_stays_on_time() -> None:
    answers = [
        answer(bkk(2024, 8, 14), "ท่าบ่อ", "ส.ค. 2567", 1, 150000),
        answer(bkk(2024, 8, 20), "ท่าบ่อ", "ส.ค. 2567", 3, 250000),
    ]
    outcome = run(sheet(answers), bkk(2024, 8, 25))
    result = district(outcome, "4302")
    assert result.report is not None
    assert result.report.row == 3
    assert result.rounds[1].timeliness is Timeliness.ON_TIME
    assert outcome.rows.superseded == 1


def test_the_latest_reported_month_wins_over_a_later_timestamp() -> None:
    answers = [
        answer(bkk(2024, 9, 10), "ท่าบ่อ", "ก.ย. 2567", 3, 330000),
        answer(bkk(2024, 9, 12), "ท่าบ่อ", "ส.ค. 2567", 1, 150000),  # a late August report
    ]
    result = district(run(sheet(answers), AFTER_Q4), "4302")
    assert result.report is not None
    assert result.report.month.iso == "2024-09"
    assert result.rounds[1].timeliness is Timeliness.LATE


def test_rows_after_as_of_are_not_read() -> None:
    answers = [
        answer(bkk(2024, 8, 10), "ท่าบ่อ", "ส.ค. 2567", 1, 150000),
        answer(bkk(2024, 8, 20), "ท่าบ่อ", "ส.ค. 2567", 3, 250000),
    ]
    outcome = run(sheet(answers), bkk(2024, 8, 15))
    assert outcome.rows.read == 1
    result = district(outcome, "4302")
    assert result.report is not None
    assert result.report.new_products == 1


def test_bad_rows_are_listed_with_their_sheet_row_and_never_stop_the_run() -> None:
    answers = [
        answer(bkk(2024, 8, 10), "บึงกาฬ", "ส.ค. 2567", 1, 1000),
        answer(bkk(2024, 8, 10), "ท่าบ่อ", "ก.ย. 2567", 1, 1000),  # a month after the submission
        answer(bkk(2024, 8, 10), "ท่าบ่อ", "ส.ค. 2567", "-2", "ห้าหมื่น"),
        answer("พรุ่งนี้", "สังคม", "ส.ค. 2567", 1, 1000),
        answer(bkk(2024, 8, 10), "สังคม", "ส.ค. 2567", 1, 1000),
    ]
    outcome = run(sheet(answers), bkk(2024, 8, 20))
    rejected = {r.row: r.reasons for r in outcome.rejections}
    assert rejected == {
        2: ("ไม่รู้จักอำเภอ “บึงกาฬ”",),
        3: ("เดือนที่รายงาน (ก.ย. 2567) ยังมาไม่ถึง",),
        4: ("จำนวนผลิตภัณฑ์ติดลบ (-2)", "ยอดจำหน่ายไม่ใช่ตัวเลข (“ห้าหมื่น”)"),
        5: ("ประทับเวลาอ่านไม่ได้ (“พรุ่งนี้”)",),
    }
    assert (outcome.rows.read, outcome.rows.used, outcome.rows.superseded, outcome.rows.rejected) == (
        5,
        1,
        0,
        4,
    )


def test_a_month_after_the_submission_month_is_rejected() -> None:
    answers = [answer(bkk(2024, 8, 31), "ท่าบ่อ", "ก.ย. 2567", 1, 1000)]
    outcome = run(sheet(answers), bkk(2024, 9, 20))
    assert outcome.rejections[0].reasons == ("เดือนที่รายงาน (ก.ย. 2567) อยู่หลังเดือนที่ส่งรายงาน (ส.ค. 2567)",)


def test_suspicious_rows_are_used_and_flagged() -> None:
    answers = [
        answer(bkk(2024, 7, 10), "ท่าบ่อ", "ก.ค. 2567", 2, 200000),
        answer(bkk(2024, 8, 10), "ท่าบ่อ", "ส.ค. 2567", 1, 150000),  # cumulative figures fell
        answer(bkk(2024, 8, 10), "สังคม", "ส.ค. 2567", 1, 2000000),  # +900 %
        # July reported in mid-October: three months on, still inside the quarter's grace period.
        answer(bkk(2024, 10, 12), "โพธิ์ตาก", "ก.ค. 2567", 1, 100000),
    ]
    outcome = run(sheet(answers), bkk(2024, 11, 20), quarter=None)
    reasons = {(f.row, f.reason.split(" ")[0]) for f in outcome.flags}
    assert (3, "จำนวนผลิตภัณฑ์สะสมลดลงจาก") in reasons
    assert (3, "ยอดจำหน่ายสะสมลดลงจาก") in reasons
    assert (4, "อัตราเพิ่มร้อยละ") in reasons
    assert (5, "รายงานของ") in reasons
    assert outcome.rows.rejected == 0
    # Each says what to do, and who sent the row and when: whom the coordinator calls.
    growth = next(f for f in outcome.flags if f.row == 4)
    assert growth.reason == "อัตราเพิ่มร้อยละ +900.00 เกินร้อยละ ±300"
    assert growth.remedy == "ตรวจสอบยอดจำหน่ายกับอำเภอ และยอดปีฐานในแท็บยอดจำหน่ายปีฐาน"
    assert growth.sender.submitted == bkk(2024, 8, 10)
    assert all(f.remedy for f in outcome.flags)


def test_a_quarter_before_any_rubric_is_not_graded() -> None:
    answers = [answer(bkk(2023, 8, 10), "ท่าบ่อ", "ส.ค. 2566", 3, 1000)]
    result = district(run(sheet(answers), bkk(2023, 8, 20)), "4302")
    assert result.status is Status.NO_RUBRIC
    assert result.grade is None


def test_every_quarter_in_the_responses_is_graded_for_every_district() -> None:
    answers = [
        answer(bkk(2024, 6, 10), "ท่าบ่อ", "มิ.ย. 2567", 1, 1000),
        answer(bkk(2024, 8, 10), "ท่าบ่อ", "ส.ค. 2567", 1, 1000),
    ]
    outcome = run(sheet(answers), AFTER_Q4)
    quarters = {r.quarter.code for r in outcome.every_quarter}
    assert quarters == {"2567Q3", "2567Q4"}
    assert len(outcome.every_quarter) == 2 * 9
    assert outcome.rows.used == 2


def test_the_per_quarter_results_hold_the_quarters_found_in_the_responses() -> None:
    answers = [answer(bkk(2024, 9, 10), "ท่าบ่อ", "ก.ย. 2567", 1, 1000)]
    outcome = run(sheet(answers), bkk(2024, 10, 5))  # the first days of FY 2568: no report yet
    assert outcome.quarter.code == "2568Q1"
    assert {r.quarter.code for r in outcome.every_quarter} == {"2567Q4"}
    assert [r.status for r in outcome.districts] == [Status.NOT_REPORTED] * 9


def test_a_district_without_a_report_has_no_figures_and_no_remark() -> None:
    result = district(run(sheet([]), bkk(2024, 8, 20)), "4315")
    assert (result.report, result.base, result.growth_pct, result.next_grade) == (None, None, None, None)
    assert result.notes == ()
