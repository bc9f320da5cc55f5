"""Forms of the catalog pages.

The shop's query-string forms (filters, sort and page, validated on the server) are plain
WTForms forms fed from `request.args` (GET forms carry no CSRF token: they change nothing). A
value that does not parse is reported beside its field and the page is rendered with status
400. The staff's forms (books, categories, the low-stock list) check shape; the catalog's
editing service checks the rules again.
"""

from __future__ import annotations

from decimal import Decimal

from wtforms import (
    BooleanField,
    Form,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app.admin import forms as admin_forms
from app.admin.forms import Between, QueryForm, stripped
from app.catalog import isbn as isbn_rules
from app.catalog.editing import MAX_PRICE, MAX_STOCK, TRANSLATED_LOCALES
from app.core.forms import AppForm, listed_choices
from app.core.i18n import LANGUAGE_NAMES
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
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


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

    def pre_validate(self, form) -> None:
        """SelectField's check that the value is one of the choices, made on the choices as
        given (core.forms.listed_choices: every listing's sort and category): the same test,
        `coerce(value) == data`, without SelectField's building a Choice for every option
        first, which was most of a listing form's validation. Anything else, and a value that
        is not one of them, is left to SelectField."""
        choices = listed_choices(self)
        if not self.process_errors and self.validate_choice and choices is not None:
            coerce, data = self.coerce, self.data
            if any(coerce(choice.value) == data for choice in choices):
                return
        super().pre_validate(form)  # and a value not on offer is refused in SelectField's words


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


# --------------------------------------------------------------------------- admin: books


STOCK_FILTERS = [
    SelectChoice("", _l("All books")),
    SelectChoice("low", _l("Low stock")),
    SelectChoice("out", _l("Out of stock")),
    SelectChoice("inactive", _l("Not for sale")),
]
BOOK_SORTS = [
    SelectChoice("title", _l("Title A–Z")),
    SelectChoice("newest", _l("Newest first")),
    SelectChoice("stock", _l("Stock, lowest first")),
    SelectChoice("price", _l("Price, lowest first")),
    SelectChoice("price_desc", _l("Price, highest first")),
    SelectChoice("sold", _l("Best selling")),
]


class BookFilterForm(QueryForm):
    q = StringField(_l("Title, author or ISBN"), filters=[stripped],
                    validators=[Length(max=200)])
    stock = SelectField(_l("Show"), choices=STOCK_FILTERS, default="")
    sort = SelectField(_l("Sort by"), choices=BOOK_SORTS, default="title")


class BookForm(AppForm):
    title = StringField(_l("Title"), filters=[stripped],
                        validators=[DataRequired(), Length(max=500)])
    authors = StringField(_l("Authors"), filters=[stripped],
                          validators=[DataRequired(), Length(max=500)],
                          description=_l("Separate several authors with commas."))
    year = IntegerField(_l("Year"), validators=[Optional(), Between(-3000, 2100)],
                        description=_l("Year of first publication (negative for BC)."))
    isbn = StringField(_l("ISBN"), filters=[stripped], validators=[Optional(), Length(max=20)],
                       description=_l("ISBN-10 or ISBN-13, with or without hyphens."))
    language = StringField(_l("Language"), filters=[stripped],
                           validators=[Optional(), Length(max=16)],
                           description=_l("A language code such as en or zh-CN."))
    publisher = StringField(_l("Publisher"), filters=[stripped],
                            validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("Description"), filters=[stripped],
                                validators=[Optional(), Length(max=20000)])
    price = admin_forms.MoneyField(_l("Price"), places=2,
                                   validators=[InputRequired(), Between(Decimal("0"), MAX_PRICE),
                                               admin_forms.whole_cents])
    stock_on_hand = IntegerField(_l("Copies in stock"),
                                 validators=[InputRequired(), Between(0, MAX_STOCK)])
    category_id = SelectField(_l("Category"), coerce=int, default=0)
    is_active = BooleanField(_l("For sale in the shop"), default=True)
    # Other names the book is known by (app.catalog.models.BookAltTitle): search finds them.
    title_original = StringField(_l("Title in the original language"), filters=[stripped],
                                 validators=[Optional(), Length(max=500)])
    title_english = StringField(_l("English title"), filters=[stripped],
                                validators=[Optional(), Length(max=500)])
    title_pinyin = StringField(_l("Title in pinyin"), filters=[stripped],
                               validators=[Optional(), Length(max=500)],
                               description=_l("Tones optional, e.g. Hóng Lóu Mèng; it is also "
                                              "found written together (hongloumeng)."))
    other_titles = TextAreaField(_l("Other titles"), filters=[stripped],
                                 validators=[Optional(), Length(max=5000)],
                                 description=_l("One per line."))
    author_names = TextAreaField(_l("Other spellings of the authors' names"),
                                 filters=[stripped], validators=[Optional(), Length(max=5000)],
                                 description=_l("One per line, e.g. Cao Xueqin for 曹雪芹."))

    SINGLE_KINDS = (("original", "title_original"), ("english", "title_english"),
                    ("pinyin", "title_pinyin"))

    def alt_titles(self) -> list[tuple[str, str]]:
        """(kind, text) pairs of what the form's alternative title fields hold."""
        pairs = [(kind, self[name].data or "") for kind, name in self.SINGLE_KINDS]
        pairs += [("other", line) for line in (self.other_titles.data or "").splitlines()]
        pairs += [("author", line) for line in (self.author_names.data or "").splitlines()]
        return [(kind, text.strip()) for kind, text in pairs if text.strip()]

    @classmethod
    def alt_title_data(cls, book) -> dict[str, str]:
        """The alternative title fields' data for a book (keyword arguments): the first title of
        each single kind in its field, any more among the other titles."""
        data: dict[str, str] = {}
        others, authors = [], []
        fields = dict(cls.SINGLE_KINDS)
        for alt in book.alt_titles:
            if alt.kind in fields and fields[alt.kind] not in data:
                data[fields[alt.kind]] = alt.title
            elif alt.kind == "author":
                authors.append(alt.title)
            else:
                others.append(alt.title)
        data["other_titles"] = "\n".join(others)
        data["author_names"] = "\n".join(authors)
        return data

    def validate_isbn(self, field) -> None:
        if field.data and isbn_rules.normalize(field.data) is None:
            raise ValidationError(_l("This is not a valid ISBN-10 or ISBN-13."))


# --------------------------------------------------------------------------- admin: categories


class CategoryForm(AppForm):
    """A category's names: `name` in English (shown wherever a language has none) and one
    `name_<locale>` field per other language the shop speaks (added below the class)."""

    name = StringField(_l("Name in English"), filters=[stripped],
                       validators=[DataRequired(), Length(max=120)],
                       description=_l("Shown in every language without a name of its own."))
    slug = StringField(
        _l("Slug"),
        filters=[stripped],
        validators=[
            DataRequired(),
            Length(max=80),
            Regexp(SLUG_PATTERN, message=_l("Use lowercase letters, digits and single hyphens, "
                                            "like science-fiction.")),
        ],
        description=_l("The category's web address: /category/<slug>."),
    )
    description = TextAreaField(_l("Description"), filters=[stripped],
                                validators=[Optional(), Length(max=500)])
    position = IntegerField(_l("Position"), default=0,
                            validators=[InputRequired(), Between(0, 10_000)],
                            description=_l("Lower numbers are listed first."))

    def translated_fields(self) -> list:
        """(name field, description field) of each other language."""
        return [(self[f"name_{locale}"], self[f"description_{locale}"])
                for locale in TRANSLATED_LOCALES]

    def translated_names(self) -> dict[str, str]:
        return {locale: self[f"name_{locale}"].data or "" for locale in TRANSLATED_LOCALES}

    def translated_descriptions(self) -> dict[str, str]:
        return {locale: self[f"description_{locale}"].data or ""
                for locale in TRANSLATED_LOCALES}

    @staticmethod
    def names_of(category) -> dict[str, str]:
        """The form's data for a category's translations (keyword arguments)."""
        names, descriptions = category.names, category.descriptions
        data = {f"name_{locale}": names.get(locale, "") for locale in TRANSLATED_LOCALES}
        data.update({f"description_{locale}": descriptions.get(locale, "")
                     for locale in TRANSLATED_LOCALES})
        return data


for _locale in TRANSLATED_LOCALES:
    setattr(CategoryForm, f"name_{_locale}", StringField(
        _l("Name in %(language)s", language=LANGUAGE_NAMES[_locale]), filters=[stripped],
        validators=[Optional(), Length(max=120)],
        description=_l("Leave empty to show the English name.")))
    setattr(CategoryForm, f"description_{_locale}", TextAreaField(
        _l("Description in %(language)s", language=LANGUAGE_NAMES[_locale]),
        filters=[stripped], validators=[Optional(), Length(max=500)],
        description=_l("Leave empty to show the English description.")))


# --------------------------------------------------------------------------- admin: info pages


class InfoPageForm(AppForm):
    title = StringField(_l("Title"), filters=[stripped],
                        validators=[DataRequired(), Length(max=200)])
    summary = StringField(_l("Short description"), filters=[stripped],
                          validators=[Optional(), Length(max=300)],
                          description=_l("One or two sentences for search engines and link "
                                         "previews (the page's description)."))
    body = TextAreaField(_l("Text"), filters=[stripped],
                         validators=[DataRequired(), Length(max=50_000)],
                         description=_l("Plain text: a blank line between paragraphs, “## ” "
                                        "before a heading, “- ” before each list item, "
                                        "**bold**. HTML is shown as typed."))


# --------------------------------------------------------------------------- admin: low stock


class LowStockForm(QueryForm):
    """The admin's low-stock list: its threshold."""

    threshold = IntegerField(_l("At most this many copies"),
                             validators=[Optional(), Between(0, MAX_STOCK)],
                             description=_l("Leave empty for the shop's threshold."))
