"""Query-string forms for the catalog pages: filters, sort and page, validated on the server.

These are plain WTForms forms fed from `request.args` (GET forms carry no CSRF token: they
change nothing). A value that does not parse is reported beside its field and the page is
rendered with status 400.
"""

from __future__ import annotations

from decimal import Decimal

from wtforms import BooleanField, Form, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from app.core.i18n import lazy_gettext as _l
from app.core.money import parse_money

SEARCH_SORTS = [
    SelectChoice("relevance", _l("Relevance")),
    SelectChoice("bestselling", _l("Best selling")),
    SelectChoice("newest", _l("Newest")),
    SelectChoice("price_asc", _l("Price: low to high")),
    SelectChoice("price_desc", _l("Price: high to low")),
]
LISTING_SORTS = [choice for choice in SEARCH_SORTS if choice.value != "relevance"]
MAX_PAGE = 10_000
# Queries longer than the search service uses are cut there (with a notice); this only stops
# abuse of the query string itself.
MAX_QUERY_FIELD = 2000


class MoneyField(StringField):
    """An optional amount such as 12.50; keeps what the user typed when it is wrong."""

    data: Decimal | None

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        value = parse_money(valuelist[0])
        if value is None:
            self.data = None
            raise ValueError(_l("Enter an amount such as 12.50 (0 to 1,000,000)."))
        self.data = value

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class LenientSelectField(SelectField):
    """A select whose empty value means "the default" rather than an invalid choice."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist and valuelist[0] == "":
            return
        super().process_formdata(valuelist)


class ListingForm(Form):
    """Filters and sort for a category page."""

    in_stock = BooleanField(
        _l("In stock only"), false_values=(False, "false", "", "0", "off", "no")
    )
    min_price = MoneyField(_l("Min price"))
    max_price = MoneyField(_l("Max price"))
    sort = LenientSelectField(_l("Sort by"), choices=LISTING_SORTS, default="bestselling")
    page = IntegerField(
        _l("Page"), validators=[Optional(), NumberRange(min=1, max=MAX_PAGE)], default=1
    )

    @property
    def page_number(self) -> int:
        return self.page.data or 1


class SearchForm(ListingForm):
    """Search box, category and the listing filters; category choices are set by the view."""

    q = StringField(_l("Search"), validators=[Optional(), Length(max=MAX_QUERY_FIELD)])
    category = LenientSelectField(_l("Category"), choices=[], default="")
    sort = LenientSelectField(_l("Sort by"), choices=SEARCH_SORTS, default="relevance")

    def set_categories(self, categories: list[tuple[str, str]]) -> None:
        self.category.choices = [SelectChoice("", _l("All categories"))] + [
            SelectChoice(slug, name) for slug, name in categories
        ]

    @property
    def has_filters(self) -> bool:
        return bool(
            self.category.data or self.in_stock.data
            or self.min_price.data is not None or self.max_price.data is not None
        )
