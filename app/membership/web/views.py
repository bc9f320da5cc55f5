"""Account pages: join, log in and out, the member's overview, profile, password and its reset."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.analytics import recommendations
from app.core.errors import DomainError
from app.core.extensions import limiter
from app.core.i18n import locale_name
from app.core.security import safe_next_url
from app.core.unit_of_work import back_on_error
from app.grades import grading
from app.grades.labels import code_label, reason_label
from app.grades.reading import grade_history
from app.grades.spend import qualifying_spend
from app.grades.table import load_rules
from app.membership import members, sessions
from app.membership.models import Member
from app.membership.web import bp
from app.membership.web.forms import (
    ChangePasswordForm,
    ConfirmForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from app.ordering.cart import SESSION_KEY, merge_session_cart


def tier_name(code: str | None) -> str:
    """The member's grade as the account page names it: its name in the reader's language
    (a member without one holds the entry grade; a code no longer in the table is shown)."""
    rules = grading.ordered(load_rules())
    return code_label(code or rules[0].code, rules)


def _status() -> int:
    """Re-render a failed POST with 400 so browsers and tests can tell it from a good one."""
    return 400 if request.method == "POST" else 200


def _next_url() -> str | None:
    return safe_next_url(request.form.get("next") or request.args.get("next"))


def _remembered() -> bool:
    """Whether this browser holds a remember-me cookie (kept when we log it in again)."""
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies


def _start_session(member: Member, remember: bool = False, way: str = "password") -> None:
    """Log the member in on this browser (a new server-side session, kept in the sign-in
    history as `way`) and move the anonymous cart into theirs."""
    merge_session_cart(member, session.pop(SESSION_KEY, None) or {})
    sessions.start(member, request.user_agent.string, way)
    login_user(member, remember=remember)


# --------------------------------------------------------------------------- join


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("account.overview"))
    form = RegisterForm()
    if request.method == "GET":
        form.next.data = safe_next_url(request.args.get("next")) or ""
    if form.validate_on_submit():
        try:
            members.register(form.email.data, form.password.data, form.name.data,
                             next_url=_next_url(), locale=_page_locale())
        except members.WeakPassword as exc:
            form.password.errors.append(exc.message)
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            # The same page whether the address is new or a member's: what happens next is
            # in the mail.
            return render_template("account/register_sent.html", email=form.email.data.strip(),
                                   title=_("Check your inbox"))
    return render_template("account/register.html", form=form, title=_("Join")), _status()


def _page_locale() -> str | None:
    """The language the visitor is reading in, when it is not the shop's default (kept for
    the new member's mail, as logging in does: app.serving.language)."""
    locale = locale_name()
    return None if locale == current_app.config["BABEL_DEFAULT_LOCALE"] else locale


def _invalid_confirm_link():
    page = render_template("account/confirm_invalid.html", title=_("Link expired"))
    return page, 400, _NO_REFERRER


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@back_on_error("account.login")
def confirm(token: str):
    """The link mailed at registration: a form (a POST, so a mail scanner opening the link
    confirms nothing) asking for the password chosen when joining, which confirms the
    address, logs the new member in and welcomes them. Guessing the password is rate-limited
    like logging in. An address that got an account meanwhile (EmailTaken) is sent to log
    in."""
    join_request = members.join_request_for_token(token)
    if join_request is None:
        return _invalid_confirm_link()
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            member = members.confirm_join(token, form.password.data)
        except members.InvalidConfirmToken:
            return _invalid_confirm_link()
        except members.WrongPassword as exc:
            form.password.errors.append(exc.message)
            return _confirm_page(form, join_request, token)
        if current_user.is_authenticated:
            sessions.end(sessions.current_key(current_user))
            logout_user()
        _start_session(member, way="join")
        flash(
            _(
                "Welcome to %(shop)s, %(name)s! Your member number is %(no)s.",
                shop=current_app.config["SHOP_NAME"],
                name=member.name,
                no=member.member_no,
            ),
            "success",
        )
        return redirect(safe_next_url(request.args.get("next")) or url_for("account.overview"))
    return _confirm_page(form, join_request, token)


def _confirm_page(form: ConfirmForm, join_request, token: str):
    page = render_template("account/confirm.html", form=form, email=join_request.email,
                           token=token,
                           next=safe_next_url(request.args.get("next")),
                           title=_("Confirm your address"))
    return page, _status(), _NO_REFERRER


# --------------------------------------------------------------------------- log in / out


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_next_url() or url_for("account.overview"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next_url(request.args.get("next")) or ""
    if form.validate_on_submit():
        member = members.authenticate(form.email.data, form.password.data)
        if member is None:
            # One message for every failure: it must not tell which emails are members.
            form.form_errors.append(_("That email and password don't match. Please try again."))
        else:
            _start_session(member, remember=form.remember.data)
            flash(_("Welcome back, %(name)s.", name=member.name), "success")
            return redirect(_next_url() or url_for("account.overview"))
    return render_template("account/login.html", form=form, title=_("Log in")), _status()


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        # The session's row goes: copies of this browser's cookies stop working too.
        sessions.end(sessions.current_key(current_user))
    logout_user()
    flash(_("You are logged out. See you soon."), "info")
    return redirect(url_for("shop.home"))


# --------------------------------------------------------------------------- the member's pages


@bp.route("/")
@login_required
def overview():
    return render_template(
        "account/overview.html",
        member=current_user,
        tier=tier_name(current_user.tier_code),
        title=_("My account"),
        # Personal recommendations (templates/feedback/_recommendations.html).
        recommended=recommendations.for_member(current_user.id),
    )


@bp.route("/grade")
@login_required
def grade():
    """The member's grade, discount, qualifying spend, the way to the next grade, the grade
    history and the whole tier table."""
    member = current_user._get_current_object()
    rules = grading.ordered(load_rules())
    place = grading.standing(qualifying_spend(member), rules, member.tier_code)
    return render_template(
        "account/grade.html",
        member=member,
        place=place,
        rules=rules,
        progress_percent=place.progress_percent,
        history=grade_history(member),
        window_months=current_app.config.get("TIER_WINDOW_MONTHS"),
        reason_label=reason_label,
        title=_("Your grade"),
    )


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    member = current_user._get_current_object()
    form = ProfileForm(obj=member)
    if form.validate_on_submit():
        try:
            members.update_profile(
                member,
                name=form.name.data,
                phone=form.phone.data,
                address_line1=form.address_line1.data,
                address_line2=form.address_line2.data,
                city=form.city.data,
                region=form.region.data,
                postcode=form.postcode.data,
                country=form.country.data,
            )
            member.locale = form.locale.data or None  # the language mail and pages use
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(_("Your details are saved."), "success")
            return redirect(url_for("account.profile"))
    return render_template("account/profile.html", form=form, title=_("Your details")), _status()


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    member = current_user._get_current_object()
    form = ChangePasswordForm(email=member.email)
    if form.validate_on_submit():
        try:
            members.change_password(member, form.current_password.data, form.password.data,
                                    keep_session=sessions.current_key(member))
        except members.WrongPassword as exc:
            form.current_password.errors.append(exc.message)
        except members.WeakPassword as exc:
            form.password.errors.append(exc.message)
        else:
            # The auth token rotated and the other sessions ended; this one carries on under
            # the new token.
            login_user(member, remember=_remembered())
            flash(_("Your password is changed. Other devices have been logged out."), "success")
            return redirect(url_for("account.overview"))
    return render_template(
        "account/password.html", form=form, title=_("Change your password")
    ), _status()


# --------------------------------------------------------------------------- signed-in sessions


@bp.route("/sessions")
@login_required
def sessions_list():
    """Where the member is signed in: this device marked, last seen, and a way to end the
    others."""
    member = current_user._get_current_object()
    return render_template(
        "account/sessions.html",
        signed_in=sessions.of_member(member),
        this_key=sessions.current_key(member),
        describe=sessions.describe,
        title=_("Where you are signed in"),
    )


@bp.route("/sessions/<int(max=2147483647):session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int):
    member = current_user._get_current_object()
    if not sessions.end_by_id(member, session_id):
        abort(404)
    flash(_("That session is ended: the device there is logged out."), "success")
    return redirect(url_for("account.sessions_list"))


@bp.route("/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    member = current_user._get_current_object()
    sessions.end_others(member, sessions.current_key(member))
    flash(_("Your other sessions are ended: every other device is logged out."), "success")
    return redirect(url_for("account.sessions_list"))


# --------------------------------------------------------------------------- forgotten password


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def forgot():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        members.request_password_reset(form.email.data)
        # Same words whether or not the address has an account.
        flash(
            _(
                "If an account exists for %(email)s, we have sent it a link to choose a new "
                "password. Please check your inbox.",
                email=form.email.data.strip(),
            ),
            "info",
        )
        return redirect(url_for("account.login"))
    return render_template(
        "account/forgot.html", form=form, title=_("Forgotten password")
    ), _status()


# The token is in the reset pages' URL: never hand it to another site in a Referer header.
_NO_REFERRER = {"Referrer-Policy": "no-referrer"}


def _invalid_reset_link():
    return render_template("account/reset_invalid.html", title=_("Link expired")), 400, _NO_REFERRER


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    member = members.member_for_reset_token(token)
    if member is None:
        return _invalid_reset_link()
    form = ResetPasswordForm(email=member.email)
    if form.validate_on_submit():
        try:
            members.reset_password(token, form.password.data)
        except members.WeakPassword as exc:
            form.password.errors.append(exc.message)
        except members.InvalidResetToken:
            return _invalid_reset_link()
        else:
            if current_user.is_authenticated:
                logout_user()
            flash(_("Your password is changed. Please log in with it."), "success")
            return redirect(url_for("account.login"))
    page = render_template(
        "account/reset.html", form=form, token=token, title=_("Choose a new password")
    )
    return page, _status(), _NO_REFERRER
