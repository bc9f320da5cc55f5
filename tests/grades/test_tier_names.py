"""A grade has a name (and perks) per language (issue 22): staff write the English name and,
optionally, the Chinese one in the tier table editor; Chinese pages, mails and the API name the
grade in Chinese, English ones in English, and a grade without a Chinese name shows its English
name. The default grades (and so the demo's) come with real Chinese names."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.grades import grading
from app.grades.bulk_regrade import replace_table
from app.grades.errors import TierTableInvalid
from app.grades.grading import TierRule
from app.grades.table import ensure_default_tiers, load_rules
from app.mail.sender import deliver_due
from app.models import Member, OrderStatus, OutboxMail, Tier, TierName
from app.ordering.orders import change_status
from tests.factories import make_admin, make_member, make_placed_order, make_staff
from tests.pages import log_in, logged_in_client

D = Decimal
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _pay(member, total: str):
    order = make_placed_order(member, subtotal=D(total), shipping_fee=D("0.00"), total=D(total))
    change_status(order, OrderStatus.PAID)
    return order


@pytest.fixture
def people(app) -> dict[str, int]:
    with app.app_context():
        admin = make_admin(email="boss@example.test")
        make_staff(email="clerk@example.test")
        mei = make_member(email="mei@example.test", name="Mei", locale="zh_Hans")
        ann = make_member(email="ann@example.test", name="Ann", locale="en")
        for member in (mei, ann):
            _pay(member, "1975.00")  # Silver, 25.00 short of Gold
        db.session.commit()
        return {"admin": admin.id, "mei": mei.id, "ann": ann.id}


def _rows(rows: list[dict]) -> dict:
    """Form data for the table editor: one dict of field values per row."""
    return {f"rows-{i}-{key}": value for i, row in enumerate(rows) for key, value in row.items()}


TABLE = [
    {"code": "regular", "name": "Regular", "name_zh_Hans": "普通会员卡", "min_spend": "0",
     "discount": "0", "perks": "", "perks_zh_Hans": ""},
    {"code": "silver", "name": "Silver", "name_zh_Hans": "银星", "min_spend": "500",
     "discount": "5", "perks": "Free bookmarks", "perks_zh_Hans": "免费书签"},
    {"code": "gold", "name": "Gold", "name_zh_Hans": "", "min_spend": "2000",
     "discount": "10", "perks": "Free gift wrap", "perks_zh_Hans": ""},
]


# --------------------------------------------------------------------------- the member's pages


def test_the_default_grades_have_chinese_names():
    assert [(r.name, r.name_in("zh_Hans")) for r in grading.DEFAULT_RULES] == [
        ("Regular", "普通"), ("Silver", "银卡"), ("Gold", "金卡"), ("Platinum", "白金")]
    assert [r.name_in("en") for r in grading.DEFAULT_RULES] == [
        "Regular", "Silver", "Gold", "Platinum"]


def test_a_chinese_grade_page_names_every_grade_in_chinese(client, people):
    log_in(client, "mei@example.test")

    page = client.get("/account/grade").get_data(as_text=True)

    assert re.search(r'data-testid="grade-name">银卡<', page)
    assert "您是银卡会员" in page
    assert "升级为金卡会员" in page  # the way to the next grade
    assert "普通 &rarr; <strong>银卡</strong>" in page  # the history, recorded in English
    for name in ("普通", "银卡", "金卡", "白金"):
        assert f">{name}</span>" in page  # the table of grades
    assert not re.search(r">(Regular|Silver|Gold|Platinum)<", page)


def test_an_english_grade_page_names_every_grade_in_english(client, people):
    log_in(client, "ann@example.test")

    page = client.get("/account/grade").get_data(as_text=True)

    assert re.search(r'data-testid="grade-name">Silver<', page)
    assert "Regular &rarr; <strong>Silver</strong>" in page
    assert "25.00 more to become Gold" in page
    assert not re.search("普通|银卡|金卡|白金", page)


def test_the_account_overview_names_the_grade_in_the_readers_language(app, people):
    chinese = log_in(app.test_client(), "mei@example.test").get("/account/").get_data(
        as_text=True)
    english = log_in(app.test_client(), "ann@example.test").get("/account/").get_data(
        as_text=True)

    assert re.search(r'class="tier-badge tier-silver">银卡<', chinese)
    assert re.search(r'class="tier-badge tier-silver">Silver<', english)


def test_a_grade_without_a_chinese_name_shows_its_english_name_and_perks(app, client, people):
    with app.app_context():
        replace_table([TierRule("regular", "Regular", D("0"), D("0"), names=(("zh_Hans", "普通"),)),
                       TierRule("silver", "Silver", D("500"), D("0.05"), perks="Free bookmarks",
                                other_perks=(("zh_Hans", "免费书签"),)),
                       TierRule("gold", "Gold", D("2000"), D("0.10"), perks="Free gift wrap")],
                      None)
        db.session.commit()
    log_in(client, "mei@example.test")

    page = client.get("/account/grade").get_data(as_text=True)

    assert re.search(r'data-testid="grade-name">Silver<', page)  # no Chinese name: English
    assert re.search(r'data-testid="grade-perks">免费书签<', page)
    assert ">Gold</span>" in page and "<td>Free gift wrap</td>" in page
    assert ">普通</span>" in page


def test_perks_written_only_in_chinese_show_to_chinese_readers_on_the_page_and_in_the_mail(
        app, client, people):
    with app.app_context():
        replace_table([TierRule("regular", "Regular", D("0"), D("0")),
                       TierRule("silver", "Silver", D("500"), D("0.05"),
                                other_perks=(("zh_Hans", "免费书签"),)),
                       TierRule("gold", "Gold", D("2000"), D("0.10"),
                                other_perks=(("zh_Hans", "免费包装"),))],
                      None)
        db.session.commit()
    log_in(client, "mei@example.test")

    page = client.get("/account/grade").get_data(as_text=True)

    assert re.search(r'data-testid="grade-perks">免费书签<', page)
    with app.app_context():
        _pay(db.session.get(Member, people["mei"]), "25.00")  # Gold
        db.session.commit()
        mail = db.session.scalar(sa.select(OutboxMail).where(
            OutboxMail.kind == "grade_up", OutboxMail.member_id == people["mei"])
            .order_by(OutboxMail.id.desc()).limit(1))
        assert "Gold" in mail.body_text  # the move to Gold (no Chinese name: English)
        assert "免费包装" in mail.body_text and "免费包装" in mail.body_html


def test_a_renamed_grade_names_the_old_history_rows_in_the_readers_language(app, client,
                                                                           people):
    """History rows keep the English name of their day; the grade is found by its code, so
    renaming "Silver" does not leave the old rows in English for Chinese readers."""
    with app.app_context():
        replace_table([TierRule("regular", "Regular", D("0"), D("0"), names=(("zh_Hans", "普通"),)),
                       TierRule("silver", "Silver Star", D("500"), D("0.05"),
                                names=(("zh_Hans", "银星"),)),
                       TierRule("gold", "Gold", D("2000"), D("0.10"))], None)
        db.session.commit()
    log_in(client, "mei@example.test")
    staff = logged_in_client(app, "boss@example.test")
    staff.set_cookie("lang", "zh_Hans")

    pages = {"account": client.get("/account/grade", headers=ZH),
             "grade page": staff.get(f"/admin/members/{people['mei']}/grade", headers=ZH),
             "record": staff.get(f"/admin/customers/{people['mei']}", headers=ZH)}

    for where, response in pages.items():
        html = response.get_data(as_text=True)
        rows = " ".join(re.findall(r'<tr data-testid="grade-change">.*?</tr>', html, re.S)
                        + re.findall(r'data-testid="grade-history">.*?</ul>', html, re.S))
        assert response.status_code == 200, where
        assert "银星" in rows and "Silver" not in rows, where


# --------------------------------------------------------------------------- the admin editor


def test_the_editor_shows_each_grades_chinese_name_beside_the_english_one(app, client, people):
    with app.app_context():
        ensure_default_tiers()
        db.session.commit()
    log_in(client, "boss@example.test")

    page = client.get("/admin/tiers", headers=EN).get_data(as_text=True)

    assert re.search(r'<input id="rows-1-name_zh_Hans"[^>]*value="银卡"', page)
    assert re.search(r'<input id="rows-1-name"[^>]*value="Silver"', page)
    assert 'for="rows-1-name_zh_Hans"' in page and 'for="rows-1-perks_zh_Hans"' in page
    assert "Name in 简体中文" in page


def test_an_admin_names_the_grades_in_chinese_and_the_shop_shows_them(app, client, people):
    log_in(client, "boss@example.test")

    response = client.post("/admin/tiers", data=_rows(TABLE))

    assert response.status_code == 302
    with app.app_context():
        stored = db.session.execute(
            sa.select(Tier.code, TierName.locale, TierName.name, TierName.perks)
            .join(TierName).order_by(Tier.position)).all()
        assert stored == [("regular", "zh_Hans", "普通会员卡", None),
                          ("silver", "zh_Hans", "银星", "免费书签")]  # gold: none at all
    page = log_in(app.test_client(), "mei@example.test").get("/account/grade").get_data(
        as_text=True)
    assert re.search(r'data-testid="grade-name">银星<', page)
    assert re.search(r'data-testid="grade-perks">免费书签<', page)
    assert "升级为Gold会员" in page  # emptied: the English name


def test_emptying_a_chinese_name_falls_back_to_english(app, client, people):
    log_in(client, "boss@example.test")
    client.post("/admin/tiers", data=_rows(TABLE))
    emptied = [dict(row, name_zh_Hans="") if row["code"] == "silver" else row for row in TABLE]

    assert client.post("/admin/tiers", data=_rows(emptied)).status_code == 302

    with app.app_context():
        silver = next(r for r in load_rules() if r.code == "silver")
        assert silver.name_in("zh_Hans") == "Silver"
        assert silver.perks_in("zh_Hans") == "免费书签"  # the perks stay


def test_staff_cannot_change_the_chinese_names(app, client, people):
    with app.app_context():
        ensure_default_tiers()
        db.session.commit()
    log_in(client, "clerk@example.test")

    response = client.post("/admin/tiers", data=_rows(TABLE))

    assert response.status_code == 403
    with app.app_context():
        assert [r.name_in("zh_Hans") for r in load_rules()] == ["普通", "银卡", "金卡", "白金"]


@pytest.mark.parametrize(("value", "message"), [
    ("普" * 61, "60"),
    ("普通会员卡", "Another tier is already called 普通会员卡."),
])
def test_a_bad_chinese_name_is_refused_beside_its_field_and_nothing_is_saved(
        app, client, people, value, message):
    log_in(client, "boss@example.test")
    bad = [dict(row, name_zh_Hans=value) if row["code"] == "silver" else row for row in TABLE]

    response = client.post("/admin/tiers", data=_rows(bad), headers=EN)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'<input[^>]*aria-describedby="rows-1-name_zh_Hans-error"', page)
    assert message in re.search(r'id="rows-1-name_zh_Hans-error">([^<]*)<', page).group(1)
    with app.app_context():  # the table the first grading wrote stays as it was
        assert [r.name_in("zh_Hans") for r in load_rules()] == ["普通", "银卡", "金卡", "白金"]


def test_the_table_rule_refuses_two_grades_of_one_chinese_name():
    rules = [TierRule("a", "A", D("0"), D("0"), names=(("zh_Hans", "金卡"),)),
             TierRule("b", "B", D("10"), D("0"), names=(("zh_Hans", "金卡"),))]

    [problem] = grading.validate_table(rules)

    assert (problem.index, problem.field, problem.code) == (1, "name_zh_Hans", "name_duplicate")


def test_replacing_the_table_leaves_no_names_of_the_old_one(ctx):
    ensure_default_tiers()
    db.session.commit()

    replace_table([TierRule("basic", "Basic", D("0"), D("0"), names=(("zh_Hans", "基础"),))],
                  None)
    db.session.commit()

    assert db.session.execute(sa.select(TierName.locale, TierName.name)).all() == [
        ("zh_Hans", "基础")]
    with pytest.raises(TierTableInvalid):
        replace_table([TierRule("basic", "Basic", D("0"), D("0"),
                                names=(("zh_Hans", "基" * 61),))], None)


# --------------------------------------------------------------------------- mail


def test_the_grade_up_mail_names_the_grade_in_the_members_language(ctx, smtp_inbox):
    ensure_default_tiers()
    mei = make_member(email="mei@example.test", name="Mei", locale="zh_Hans")
    ann = make_member(email="ann@example.test", name="Ann", locale="en")
    for member in (mei, ann):
        _pay(member, "1980.00")  # Silver
    db.session.commit()
    deliver_due()
    smtp_inbox.messages.clear()

    for member in (mei, ann):
        _pay(member, "25.00")  # Gold
    db.session.commit()
    deliver_due()

    mails = {m["To"]: m for m in smtp_inbox.parsed()}
    chinese, english = mails["mei@example.test"], mails["ann@example.test"]
    assert "金卡会员" in chinese["Subject"] and "Gold" not in chinese["Subject"]
    for body in (chinese.get_body(("plain",)).get_content(),
                 chinese.get_body(("html",)).get_content()):
        assert "金卡会员" in body  # now Gold
        assert "白金" in body  # Platinum next
        assert "银卡" in body  # Silver before
        assert not re.search("Silver|Gold|Platinum", body)
    assert "Gold" in english["Subject"] and "金卡" not in english["Subject"]
    assert "Platinum" in english.get_body(("plain",)).get_content()


# --------------------------------------------------------------------------- PostgreSQL


def test_names_per_language_are_saved_replaced_and_read_on_postgresql(pg_app):
    with pg_app.app_context():
        ensure_default_tiers()
        member = make_member(email="mei@example.test", locale="zh_Hans")
        _pay(member, "600.00")
        db.session.commit()
        member_id = member.id

        replace_table([
            TierRule("regular", "Regular", D("0"), D("0"), names=(("zh_Hans", "普通"),)),
            TierRule("silver", "Silver", D("500"), D("0.05"), perks="Bookmarks",
                     names=(("zh_Hans", "银星"),), other_perks=(("zh_Hans", "书签"),)),
        ], None)
        db.session.commit()
        db.session.remove()

        rules = load_rules()
        assert [(r.code, r.name_in("zh_Hans"), r.perks_in("zh_Hans")) for r in rules] == [
            ("regular", "普通", ""), ("silver", "银星", "书签")]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TierName)) == 2

    client = pg_app.test_client()
    log_in(client, "mei@example.test")
    page = client.get("/account/grade").get_data(as_text=True)
    assert re.search(r'data-testid="grade-name">银星<', page)
    with pg_app.app_context():
        assert db.session.get(Member, member_id).tier_code == "silver"
