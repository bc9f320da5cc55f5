"""The demo shop's information pages (shipping and returns, privacy, terms), in English and
Simplified Chinese. Admins rewrite them in the admin (app.catalog.info_pages); the seed only
writes a page that does not exist yet."""

from __future__ import annotations

import sqlalchemy as sa

from app.catalog.models import InfoPage
from app.core.extensions import db

# (slug, locale) -> (title, summary, body in the pages' plain-text format)
PAGES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("shipping-returns", "en"): (
        "Shipping and returns",
        "Delivery in 2–5 working days across mainland China, free from ¥99; "
        "30 days to return a book, no questions asked.",
        """We pack every order in recyclable cardboard and hand it to the courier within one
working day of payment.

## Shipping
- Mainland China: 2–5 working days after dispatch.
- Shipping costs ¥10 per order, and is **free on orders of ¥99 or more**.
- You receive an email with the tracking number when your parcel leaves us.
- A book that is out of stock is never charged: add it to your waiting list and we write to
  you as soon as it arrives.

## Returns: 30 days
You may return any book within **30 days** of delivery, for any reason, as long as it is in
the condition you received it.

- Write to us, quoting your order number (it begins with BS-).
- We send you a prepaid return label; returns are free for books that arrived damaged or
  were not what you ordered.
- We refund the price of the book to your original means of payment within 5 working days
  of receiving it. If you return your whole order within the 30 days, the shipping cost is
  refunded too.

## Damaged or missing parcels
If a book arrives damaged, or your parcel has not arrived 7 working days after dispatch,
tell us and we send a replacement at once.""",
    ),
    ("shipping-returns", "zh_Hans"): (
        "配送与退货",
        "中国大陆 2–5 个工作日送达，满 ¥99 包邮；收货 30 天内可无理由退货。",
        """每一份订单都用可回收纸箱包装，付款后一个工作日内交给快递。

## 配送
- 中国大陆：发货后 2–5 个工作日送达。
- 每笔订单运费 ¥10，**订单满 ¥99 免运费**。
- 包裹发出时，我们会发邮件告诉您快递单号。
- 缺货的图书不会收费：把它加入到货通知，到货后我们第一时间写信告诉您。

## 30 天退货
收货后 **30 天内**，只要图书保持收到时的状态，您可以因任何原因退货。

- 联系我们，并附上订单号（以 BS- 开头）。
- 我们会寄给您预付运费的退货单；图书到货时破损或与所订不符的，退货免费。
- 收到退回的图书后 5 个工作日内，我们会把书款原路退回。30 天内整单退货的，运费一并退还。

## 包裹破损或丢失
图书到货时破损，或发货后 7 个工作日仍未收到包裹，请告诉我们，我们会立即补发。""",
    ),
    ("privacy", "en"): (
        "Privacy",
        "What we keep about you, why, for how long, and how to download or erase it.",
        """We keep only what we need to sell you books and to keep our promises to you.

## What we keep
- Your account: name, email address, language, and a password we store only as a hash.
- Your delivery address and phone number, for your orders.
- Your orders, your waiting lists and the reviews you write.
- Technical logs of requests (without your password or payment details), kept for 30 days
  to keep the shop secure.

## What we use it for
- To deliver your orders and tell you about them.
- To write to you when a book you are waiting for arrives, if you asked us to.
- To give members their grade and its discount.
- We send newsletters only to members who agreed to receive them, and every one has an
  unsubscribe link.

We never sell your data. Couriers and our payment provider receive only what they need to
deliver and to take payment.

## Your rights
- **Download:** ask us for a copy of everything we hold about you.
- **Correct:** change your profile at any time in your account.
- **Erase:** ask us to erase your account; we keep only what the law requires for accounting
  (invoices, without your name) for the legally required period.

Write to us with any question about your data; we answer within 30 days.""",
    ),
    ("privacy", "zh_Hans"): (
        "隐私政策",
        "我们保存哪些关于您的信息、为什么保存、保存多久，以及如何下载或删除。",
        """我们只保存向您售书和履行对您的承诺所必需的信息。

## 我们保存什么
- 您的账户：姓名、电子邮箱、语言，以及只以哈希形式保存的密码。
- 您的收货地址和电话，用于配送订单。
- 您的订单、到货通知和您写的书评。
- 访问日志（不含密码和支付信息），为保障网站安全保存 30 天。

## 我们用它做什么
- 配送您的订单，并告诉您订单进度。
- 在您要求时，到货后通知您。
- 为会员计算会员等级和相应折扣。
- 我们只向同意接收的会员发送推广邮件，每封邮件都附有退订链接。

我们绝不出售您的数据。快递公司和支付服务商只会收到配送和收款所必需的信息。

## 您的权利
- **下载：** 向我们索取我们保存的关于您的全部信息。
- **更正：** 随时在账户中修改个人资料。
- **删除：** 要求我们删除您的账户。
- 我们只保留法律要求的会计记录（不含您姓名的发票），保存至法定期限。

如对您的数据有任何疑问，请联系我们；我们会在 30 天内答复。""",
    ),
    ("terms", "en"): (
        "Terms of sale",
        "The terms on which Bookstation sells books: prices, payment, delivery, returns "
        "and membership.",
        """These terms apply to every order placed at Bookstation.

## Prices and payment
- Prices are in Chinese yuan (CNY) and include VAT. The shipping cost is shown before you pay.
- Your order is confirmed when we receive your payment; we then reserve the books for you.
- If a price shown was clearly wrong, we tell you before dispatch and you may cancel at no
  cost.

## Delivery
We deliver to the address you give at checkout, as described on our shipping and returns
page. The risk passes to you when the parcel is delivered.

## Returns and refunds
You have **30 days** from delivery to return a book and get your money back, as described on
our shipping and returns page. This does not limit your rights under consumer protection law.

## Membership
- Membership is free. Member grades and their discounts follow the spending rules shown in
  your account; a change to those rules never takes away a discount on an order already paid.
- Reviews must be about the book and respectful; we may decline ones that are not.

## Contact
Bookstation customer service answers on working days from 9:00 to 18:00 (China Standard
Time).""",
    ),
    ("terms", "zh_Hans"): (
        "服务条款",
        "Bookstation 售书的条款：价格、付款、配送、退货与会员。",
        """这些条款适用于在 Bookstation 下的每一笔订单。

## 价格与付款
- 价格以人民币（CNY）计价，已含增值税。付款前会显示运费。
- 收到您的付款后订单即确认，我们随即为您预留图书。
- 如果所示价格明显有误，我们会在发货前告诉您，您可以免费取消。

## 配送
我们按您结账时填写的地址配送，详见“配送与退货”页面。包裹送达时，风险转移给您。

## 退货与退款
自收货之日起 **30 天内**，您可以退货并获得退款，详见“配送与退货”页面。

这不影响您依照消费者权益保护法享有的权利。

## 会员
- 会员免费。会员等级及其折扣按您账户中显示的消费规则计算；规则的变更不会取消已付款订单的折扣。
- 书评应针对图书本身并保持尊重；不符合的书评我们可能不予发布。

## 联系我们
Bookstation 客服在工作日 9:00 至 18:00（北京时间）为您服务。""",
    ),
}


def ensure_info_pages() -> int:
    """Write every page above that does not exist yet (admins' texts are kept); how many."""
    existing = {(slug, locale) for slug, locale in
                db.session.execute(sa.select(InfoPage.slug, InfoPage.locale))}
    missing = [
        InfoPage(slug=slug, locale=locale, title=title, summary=summary, body=body)
        for (slug, locale), (title, summary, body) in PAGES.items()
        if (slug, locale) not in existing
    ]
    db.session.add_all(missing)
    db.session.flush()
    return len(missing)
