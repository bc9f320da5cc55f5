"""Journeys done entirely in Chinese (issue 6): a password reset, a visitor's demand, and mail
that reaches a member in the language they chose, whoever or whatever queues it."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask_login import login_user

from app.core.extensions import db
from app.demand.stock import receive_stock
from app.mail import outbox as mail_service
from app.membership import sessions
from app.models import Member, OutboxMail
from tests.factories import make_book, make_member, make_staff
from tests.i18n.pages import english_left
from tests.pages import post_login

ZH = {"Accept-Language": "en"}  # the browser says English: only the switch's cookie says Chinese


@pytest.fixture
def chinese_client(client):
    client.set_cookie("lang", "zh_Hans")
    return client


def _page(response) -> str:
    return response.get_data(as_text=True)


def _last_mail(app, kind: str) -> OutboxMail:
    with app.app_context():
        row = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.kind == kind)
                                .order_by(OutboxMail.id.desc()))
        db.session.expunge(row)
        return row


def _assert_chinese_mail(row: OutboxMail, patterns) -> None:
    assert re.search(r"[\u4e00-\u9fff]", row.subject), row.subject
    for part in (row.body_text, row.body_html or ""):
        assert re.search(r"[\u4e00-\u9fff]", part)
        left = [x for line in part.splitlines() for x in english_left(f"<p>{line}</p>", patterns)]
        assert not left, left


def test_a_password_reset_entirely_in_chinese(app, chinese_client, english_patterns):
    with app.app_context():
        make_member(email="mei@example.test", name="梅")
        db.session.commit()
    client = chinese_client

    assert "忘记密码了？" in _page(client.get("/account/forgot", headers=ZH))
    sent = client.post("/account/forgot", data={"email": "mei@example.test"}, headers=ZH,
                       follow_redirects=True)
    assert "我们已向其发送了重设密码的链接" in _page(sent)

    mail = _last_mail(app, "password_reset")
    _assert_chinese_mail(mail, english_patterns)
    assert mail.subject == "为您的Bookstation账户设置新密码" or "设置新密码" in mail.subject
    link = re.search(r"http://localhost(/account/reset/\S+)", mail.body_text).group(1)

    form = _page(client.get(link, headers=ZH))
    assert "设置新密码" in form and not english_left(form, english_patterns)
    short = client.post(link, data={"password": "short", "confirm": "short"}, headers=ZH)
    assert short.status_code == 400 and "至少需要" in _page(short)
    done = client.post(link, data={"password": "a long new phrase 7", "confirm":
                                   "a long new phrase 7"}, headers=ZH, follow_redirects=True)
    assert "密码已修改，请用新密码登录。" in _page(done)
    assert not english_left(_page(done), english_patterns)


def test_a_visitor_s_demand_entirely_in_chinese(app, chinese_client, english_patterns):
    with app.app_context():
        book = make_book(title="活着", authors="余华", stock_on_hand=0)
        db.session.commit()
        book_id = book.id
    client = chinese_client

    page = _page(client.get(f"/book/{book_id}", headers=ZH))
    assert "到货通知我" in page and not english_left(page, english_patterns)
    sent = client.post(f"/demand/book/{book_id}", data={"email": "fan@example.test",
                                                         "quantity": "1"},
                       headers=ZH, follow_redirects=True)
    assert "就差一步" in _page(sent)

    mail = _last_mail(app, "demand_confirm")
    assert mail.subject == "请确认：《活着》到货时通知我"
    _assert_chinese_mail(mail, english_patterns)
    link = re.search(r"http://localhost(/demand/confirm/\S+)", mail.body_text).group(1)
    confirm = _page(client.get(link, headers=ZH))
    assert "是的，到货时通知我" in confirm and not english_left(confirm, english_patterns)
    done = client.post(link, headers=ZH, follow_redirects=True)
    assert "谢谢：《活着》到货时我们会发邮件通知您。" in _page(done)

    # The books arrive, recorded by English-speaking staff in a worker-less context: the
    # visitor's arrival mail is still written in the language they asked in.
    with app.app_context():
        receive_stock(book_id, 3, supplier="Supplier", actor=None)
        db.session.commit()
    arrival = _last_mail(app, "stock_arrived")
    assert arrival.to_email == "fan@example.test" and "活着" in arrival.subject
    _assert_chinese_mail(arrival, english_patterns)


def test_mail_follows_the_member_s_choice_not_the_sender_s(app, client, english_patterns):
    with app.app_context():
        reader = make_member(email="zhang@example.test", name="张", locale="zh_Hans")
        other = make_member(email="smith@example.test", name="Smith")
        make_staff(email="clerk@example.test")
        db.session.commit()
        reader_id, other_id = reader.id, other.id

    context = {"name": "x", "reset_url": "http://localhost/r", "forgot_url": "http://localhost/f",
               "valid_minutes": 30, "shop_name": "Bookstation"}
    # No request at all (a CLI command or a worker): the saved choice decides.
    with app.app_context():
        zh = mail_service.enqueue(kind="password_reset", to_email="zhang@example.test",
                                  template="password_reset", context=context,
                                  member_id=reader_id)
        en = mail_service.enqueue(kind="password_reset", to_email="smith@example.test",
                                  template="password_reset", context=context, member_id=other_id)
        forced = mail_service.enqueue(kind="password_reset", to_email="x@example.test",
                                      template="password_reset", context=context,
                                      locale="zh_Hans")
        db.session.commit()
        assert "设置新密码" in zh.subject and "设置新密码" in forced.subject
        assert en.subject.startswith("Choose a new password")

    # A member's choice wins over the Chinese request of a staff member acting for them, and a
    # member without a choice gets the shop's default rather than the staff member's language.
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        staff = db.session.scalar(sa.select(Member).where(Member.email == "clerk@example.test"))
        sessions.start(staff, "test")
        login_user(staff)
        english = mail_service.enqueue(kind="password_reset", to_email="smith@example.test",
                                       template="password_reset", context=context,
                                       member_id=other_id)
        chinese = mail_service.enqueue(kind="password_reset", to_email="zhang@example.test",
                                       template="password_reset", context=context,
                                       member_id=reader_id)
        assert english.subject.startswith("Choose a new password")
        _assert_chinese_mail(chinese, english_patterns)


def test_an_order_confirmation_reaches_a_chinese_member_in_chinese(app, client,
                                                                 english_patterns):
    with app.app_context():
        book = make_book(title="三体", stock_on_hand=4)
        make_member(email="li@example.test", name="李", locale="zh_Hans",
                    address_line1="人民路 1 号", city="杭州", postcode="310000", country="中国")
        db.session.commit()
        book_id = book.id
    post_login(client, "li@example.test")
    client.post("/cart/add", data={"book_id": book_id, "quantity": 1})
    checkout = _page(client.get("/checkout"))
    assert "提交订单" in checkout and "货到付款" in checkout
    data = {"name": "李", "line1": "人民路 1 号", "line2": "", "city": "杭州", "region": "",
            "postcode": "310000", "country": "中国", "phone": "", "payment_method": "cod",
            "note": ""}
    placed = client.post("/checkout", data=data, follow_redirects=True)
    assert "谢谢！您的订单" in _page(placed)
    assert not english_left(_page(placed), english_patterns)

    mail = _last_mail(app, "order_confirmation")
    _assert_chinese_mail(mail, english_patterns)
    assert "¥" in mail.subject and "CN¥" not in mail.subject
