"""The test engineer's kit: drive the real app (pytest-qt's `qtbot`, or `ScriptBot` in a script),
and stand-ins for what a test machine lacks. Shared by our tests, the pytest plugin, the benchmarks
and the screenshot script; no pytest import, and Qt only inside the functions that drive it, so
importing this module stays cheap.

    from flinks_desktop.testing import answer_mfa, connect, wait_synced

    def test_live_refresh(qtbot, flinks_main_window):
        window = flinks_main_window
        login_id = connect(qtbot, window)                # Connect, walked in the window's own view
        window.live_refresh_button.click()
        answer_mfa(qtbot, window)                         # the sandbox's own answers
        assert wait_synced(qtbot, window, login_id) == "ok"

- `connect`, `answer_mfa`, `wait_synced`, `delete_card`: the usual paths, each waiting for the
  window to show the result, and failing with a sentence saying where it stopped.
- `ConnectPage`: the sandbox's Connect page, step by step (consent, institution, credentials,
  answers, accounts, its events), safe against its page being replaced or deleted.
- `close_window`: the teardown a window needs (background work ended before the widgets go).
- `login_made_elsewhere`: what Flinks Connect does on a customer's own device (a login at the
  sandbox's bank -> its loginId), for the support desk's paths.
- `generated_connection`: a connection of any size (a million transactions), for a test or a
  benchmark that needs a big cache without a sync.
- `MemoryKeyring`: a desktop keyring daemon cannot run on a headless test machine; this behaves like
  one (set, get, delete that fails for a missing entry) and keeps nothing once the process ends.
"""

from __future__ import annotations

import contextlib
import functools
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

if TYPE_CHECKING:
    from PySide6.QtWidgets import QDialog, QWidget

    from flinks_desktop.core.flinks.models import AccountsResult
    from flinks_desktop.ui.main_window import MainWindow


class MemoryKeyring(KeyringBackend):
    """A keyring in a dict. Its negative priority keeps keyring's own detection from ever choosing
    it: defining a backend class registers it with keyring, and only `keyring.set_keyring` (or
    `memory_keyring()`) installs it."""

    priority = -10
    name = "in-memory keyring"

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


@contextmanager
def installed_keyring(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    """`backend` as the process's keyring for the block; the previous one comes back after."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def memory_keyring():
    """`with memory_keyring() as backend:` an empty `MemoryKeyring` for the block."""
    return installed_keyring(MemoryKeyring())


# == driving the real app ===========================================================================
#
# Everything below drives the real window as a person would (clicks, typing, the Connect page's own
# buttons) and waits through `bot.wait(ms)`: pytest-qt's `qtbot`, or `ScriptBot` outside pytest. Qt
# is imported inside the functions, so importing this module stays cheap.

#: Seconds a helper waits for the app or Connect before it fails with a sentence saying where it
#: stopped. QtWebEngine's first start on a slow CI machine takes a few seconds of it.
DEFAULT_TIMEOUT = 20.0


class Bot(Protocol):
    """What the helpers need of pytest-qt's `qtbot`: `wait(ms)` runs Qt's event loop (and with it the
    asyncio loop qasync shares with Qt) for that long."""

    def wait(self, ms: int) -> None: ...


class ScriptBot:
    """`Bot` for scripts and benchmarks that run without pytest: `wait(ms)` runs Qt's event loop.

    The asyncio loop must be qasync's, marked running (as `flinks_qasync_loop` does), and the code
    calling the helpers must not itself run inside an asyncio task (a nested event loop would run
    other tasks inside it).
    """

    def wait(self, ms: int) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(max(0, ms), loop.quit)
        loop.exec()


def wait_until(
    bot: Bot,
    condition: Callable[[], bool],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    failure: Callable[[], str] | str = "the condition did not hold in time",
) -> None:
    """Run the event loop until `condition()` is true; AssertionError with `failure` (a sentence,
    or a function making one from the state at the time) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(failure() if callable(failure) else failure)
        bot.wait(20)


@functools.cache
def _sandbox_answer_table() -> tuple[tuple[str, str], ...]:
    from flinks_desktop.sandbox.institution import ALL_QUESTIONS, fold

    table = []
    for question in ALL_QUESTIONS:
        for language, prompt in question.prompts.items():
            if question.choices is not None:
                options = question.choices.get(language, question.choices["en"])
                answer = next(option for option in options if fold(option) in question.answers)
            else:
                answer = min(question.answers).capitalize()
            table.append((prompt, answer))
    return tuple(table)


def sandbox_answers() -> dict[str, str]:
    """The offline sandbox's right answers, by prompt, in English and French: "What city were you
    born in?" Montreal, "What is the best country on earth?" Canada, "What shape do people like
    most?" Triangle, and greatday_choice's "Which of these colours is your favourite?" Blue."""
    return dict(_sandbox_answer_table())


# -- a big connection ---------------------------------------------------------------------------------

#: Descriptions as banks write them (accents, "#", "*", "-"), for generated transactions.
MERCHANTS = (
    "TIM HORTONS #2417 MONTRÉAL QC",
    "METRO PLUS #412 MONTRÉAL QC",
    "SAQ 23011 MONTRÉAL QC",
    "PAYROLL ACME INC",
    "HYDRO-QUÉBEC",
    "STM - RECHARGE OPUS",
    "AMAZON.CA*2K4LQ",
    "UBER *TRIP",
    "COSTCO WHOLESALE #510",
    "Interac e-Transfer from Marc-Antoine Gagnon",
    "BELL CANADA - INTERNET",
)
#: The accounts of a generated connection: key, title, currency, opening balance and the floor its
#: balance never goes under (the overdraft account starts, and often stays, below zero).
GENERATED_ACCOUNTS = (
    ("chq", "Everyday Chequing", "CAD", 500, 0),
    ("sav", "High Interest Savings", "CAD", 20_000, 0),
    ("odp", "Overdraft Chequing", "CAD", -200, -1_000),
    ("usd", "US Dollar Chequing", "USD", 900, 0),
)
GENERATED_LOGIN_ID = "5e115eac-1209-4f19-641c-08d6d484e2fe"


def generated_connection(
    count: int,
    *,
    login_id: str = GENERATED_LOGIN_ID,
    seed: int = 20250615,
    as_of: date = date(2025, 6, 15),
    days: int = 2190,
) -> AccountsResult:
    """What `/GetAccountsDetail` would give for a connection of `count` transactions over the four
    `GENERATED_ACCOUNTS`, spread over the `days` days up to `as_of`, each account's listed newest
    first as Flinks does. The same arguments give the same connection. Save it with
    `Store.save_snapshot`; `Store.open(path)` then reads it as the app does.
    """
    from flinks_desktop.core.flinks.models import Account, AccountsResult, Login, Transaction
    from flinks_desktop.core.flinks.values import Balance

    rnd = random.Random(seed)
    accounts = []
    for index, (key, title, currency, opening, floor) in enumerate(GENERATED_ACCOUNTS):
        size = count // len(GENERATED_ACCOUNTS) + (1 if index < count % len(GENERATED_ACCOUNTS) else 0)
        balance = Decimal(opening)
        transactions = []
        for n in range(size):  # oldest first here
            amount = Decimal(rnd.randint(100, 40_000)).scaleb(-2)
            is_debit = rnd.random() < 0.6 and balance - amount >= floor
            balance += -amount if is_debit else amount
            transactions.append(
                Transaction(
                    id=f"{key}-{n:07d}",
                    date=as_of - timedelta(days=(size - 1 - n) * days // size),
                    description=f"{rnd.choice(MERCHANTS)} {n}",
                    debit=amount if is_debit else None,
                    credit=None if is_debit else amount,
                    balance=balance,
                    code=None,
                )
            )
        accounts.append(
            Account(
                id=f"{key}-account",
                title=title,
                account_number=f"90{index}1234{index}",
                last_four_digits=None,
                transit_number=None,
                institution_number=None,
                overdraft_limit=Decimal(-floor) if floor else None,
                balance=Balance(available=None, current=balance, limit=None),
                category="Operations",
                type="Chequing",
                currency=currency,
                holder=None,
                account_type="Personal",
                transactions=tuple(reversed(transactions)),
            )
        )
    login = Login(id=login_id, username="generated", is_scheduled_refresh=False, last_refresh=None, type=None)
    return AccountsResult(request_id="generated", login=login, institution="FlinksCapital", accounts=tuple(accounts))


class _HasBankingUrl(Protocol):
    banking_url: str


def login_made_elsewhere(
    sandbox: _HasBankingUrl,
    username: str = "greatday_nomfa",
    *,
    password: str = "Everyday",
    auth_key: str | None = None,
) -> str:
    """What Flinks Connect does on a customer's own device: a login at the sandbox's bank through the
    API (POST /Authorize with the credentials, each question answered rightly) -> its loginId, which
    this app has never seen. `auth_key`: the sandbox's secret, when it asks for authorize tokens.
    Fails with the sandbox's answer when the login does not succeed."""
    import httpx

    def authorize(body: dict[str, object]) -> httpx.Response:
        headers = {}
        if auth_key is not None:  # each /Authorize needs a fresh token
            token = httpx.post(
                f"{sandbox.banking_url}/GenerateAuthorizeToken", json={}, headers={"flinks-auth-key": auth_key}
            ).json()["Token"]
            headers["flinks-auth-key"] = token
        return httpx.post(f"{sandbox.banking_url}/Authorize", headers=headers, json=body)

    answers = sandbox_answers()
    answer = authorize(
        {"Institution": "FlinksCapital", "Username": username, "Password": password, "MostRecentCached": False}
    )
    while answer.status_code == 203:
        body = answer.json()
        responses = {challenge["Prompt"]: [answers[challenge["Prompt"]]] for challenge in body["SecurityChallenges"]}
        answer = authorize({"RequestId": body["RequestId"], "SecurityResponses": responses})
    if answer.status_code != 200:
        raise AssertionError(f"the login of {username!r} at the sandbox failed: {answer.status_code} {answer.text}")
    login_id: str = answer.json()["Login"]["Id"]
    return login_id


# -- the Connect page ---------------------------------------------------------------------------------

#: The page went away (Connect was stopped: the loginId was captured, or it was closed).
_GONE = object()

#: What Connect shows in each screen's alert when something went wrong there.
_ALERTS = {"credentials": "credentials-error", "mfa": "mfa-error", "accounts": "accounts-error"}


class ConnectClosed(AssertionError):
    """Connect's page went away while a helper was using it: the session ended (the loginId was
    captured and the app closed Connect, Connect was closed, or its view was deleted)."""


class ConnectPage:
    """The offline sandbox's Connect page (`flinks_desktop/sandbox/connect`) in a real QtWebEngine
    view, driven through its stable ids (README: "The Connect page's test ids"), step by step.

    `target` is the main window, a `ConnectView`, or a `QWebEngineView` whose page embeds Connect
    as its first child frame (or shows it in its main frame). Nothing here keeps a page or a frame:
    each call looks the current one up and runs its script there, so a page replaced or deleted
    under a test (Connect restarted, the app closing Connect once it has the loginId) is reported
    (`ConnectClosed`, or `screen()` None) instead of crashing or hanging.

    `events` are Connect's events since this object was made (dicts; a `flinksCode` event for an
    error), as the view emits them (`ConnectView.connectEvent`); for a bare view, pass `events=` a
    function giving the events your host page records.
    """

    def __init__(
        self,
        bot: Bot,
        target: QWidget,
        *,
        events: Callable[[], Sequence[Any]] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.bot = bot
        self.target = target
        self.timeout = timeout
        self._recorded: list[dict] = []
        self._events_of = events
        if events is None:
            view = getattr(target, "connect_view", target)  # the window builds its view on first use
            signal = getattr(view, "connectEvent", None)
            if signal is not None:
                signal.connect(self._recorded.append)

    # -- events ----------------------------------------------------------------------------------
    @property
    def events(self) -> list[dict]:
        """Connect's events so far, oldest first (JSON text events already parsed)."""
        raw = list(self._events_of()) if self._events_of is not None else list(self._recorded)
        return [json.loads(event) if isinstance(event, str) else dict(event) for event in raw]

    @property
    def steps(self) -> list[str]:
        """Each event's `step`, or its `flinksCode` for an error event."""
        return [event.get("step") or event.get("flinksCode") or "" for event in self.events]

    def wait_for_step(self, step: str, count: int = 1, *, timeout: float | None = None) -> dict:
        """Wait until `step` (a step, or a flinksCode) has come `count` times; that event."""
        wait_until(
            self.bot,
            lambda: self.steps.count(step) >= count,
            timeout=timeout or self.timeout,
            failure=lambda: f"Connect did not post {step} (x{count}); its events: {self.steps}",
        )
        return [event for event, name in zip(self.events, self.steps, strict=True) if name == step][count - 1]

    # -- where Connect is ----------------------------------------------------------------------------
    def _web_view(self):
        from PySide6.QtWebEngineWidgets import QWebEngineView

        if not _valid(self.target):
            return None
        if isinstance(self.target, QWebEngineView):
            return self.target
        return self.target.findChild(QWebEngineView, "connectWebView") or self.target.findChild(QWebEngineView)

    def _page(self):
        """The page the view shows now, or None. Found among the target's children, never through
        `QWebEngineView.page()`, which would make the view a default page of its own."""
        from PySide6.QtWebEngineCore import QWebEnginePage
        from PySide6.QtWebEngineWidgets import QWebEngineView

        web = self._web_view()
        if web is None:
            return None
        pointer = _pointer(web)
        for page in (*web.findChildren(QWebEnginePage), *self.target.findChildren(QWebEnginePage)):
            shown_in = QWebEngineView.forPage(page)
            if shown_in is not None and _pointer(shown_in) == pointer:
                return page
        return None

    def _page_pointer(self) -> int | None:
        page = self._page()
        return None if page is None else _pointer(page)

    def _run(self, script: str, timeout: float) -> Any:
        """`script`'s JSON result from Connect's frame, or _GONE when there is no page or it went
        away before answering."""
        page = self._page()
        if page is None:
            return _GONE
        pointer = _pointer(page)
        # Connect is the first web frame inside the page (an iframe), or the page itself. A page
        # with no web address is none of that: the blank page a view makes once its own is gone.
        main = page.mainFrame()
        frame = next((child for child in main.children() if child.url().scheme() in ("http", "https")), None)
        if frame is None and main.url().scheme() in ("http", "https"):
            frame = main
        if frame is None:
            return _GONE
        answered: list[Any] = []
        frame.runJavaScript(script, 0, answered.append)
        del page, main, frame  # nothing of the page is kept while the loop runs
        wait_until(
            self.bot,
            lambda: bool(answered) or self._page_pointer() != pointer,
            timeout=timeout,
            failure="Connect's page did not answer a script in time",
        )
        if not answered:
            return _GONE
        # No JSON text: the document changed under the script (a frame still loading), no value.
        return json.loads(answered[0]) if isinstance(answered[0], str) and answered[0] else None

    def js(self, expression: str, *, timeout: float = 5.0) -> Any:
        """The value of a JavaScript `expression` evaluated in Connect's frame (through JSON: numbers,
        strings, lists, dicts, None). ConnectClosed when there is no Connect page (any more)."""
        value = self._run(
            f"JSON.stringify((function () {{ var value = ({expression});"
            " return value === undefined ? null : value; })())",
            timeout,
        )
        if value is _GONE:
            raise ConnectClosed("Connect's page is not there (any more): the session ended, or it never started")
        return value

    def screen(self) -> str | None:
        """The screen Connect shows (body[data-screen]: consent, institutions, unavailable,
        credentials, mfa, accounts, success, denied; "loading" at first), or None when no Connect
        page is there (not opened yet, or closed once the app had the loginId)."""
        value = self._run("JSON.stringify(document.body ? document.body.getAttribute('data-screen') : null)", 5.0)
        return None if value is _GONE else value

    def busy(self) -> bool:
        """Whether Connect waits for the bank (body[data-busy])."""
        return self.js("document.body.getAttribute('data-busy') === 'true'") is True

    def wait_for_screen(self, *screens: str, timeout: float | None = None) -> str:
        """Wait until Connect shows one of `screens`; which."""
        seen: list[str | None] = [None]

        def there() -> bool:
            seen[0] = self.screen()
            return seen[0] in screens

        wait_until(
            self.bot,
            there,
            timeout=timeout or self.timeout,
            failure=lambda: (
                f"Connect did not show {' or '.join(screens)}: it shows {seen[0] or 'nothing'}"
                f"{self._alert_suffix(seen[0])}"
            ),
        )
        return seen[0]

    def _settle(self) -> str | None:
        """After a submission: wait until the bank has answered; the screen then (None: the page is
        gone, as when the app closes Connect on its REDIRECT)."""
        state: list[Any] = [None]

        def settled() -> bool:
            state[0] = self._run(
                "JSON.stringify([document.body.getAttribute('data-busy') === 'true',"
                " document.body.getAttribute('data-screen')])",
                5.0,
            )
            # None: no answer this time (the document changing, or the page going): ask again.
            return state[0] is _GONE or (state[0] is not None and not state[0][0])

        wait_until(self.bot, settled, timeout=self.timeout, failure="Connect waited for the bank for too long")
        return None if state[0] is _GONE else state[0][1]

    def _alert_suffix(self, screen: str | None) -> str:
        message = self.alert() if screen in _ALERTS else None
        return f" (it says: {message})" if message else ""

    # -- reading -------------------------------------------------------------------------------------
    def text(self, element_id: str) -> str | None:
        """The text of the element with that id, or None when there is none."""
        return self.js(
            f"(function () {{ var el = document.getElementById({json.dumps(element_id)});"
            " return el ? el.textContent : null; })()"
        )

    def is_visible(self, element_id: str) -> bool:
        """Whether the element with that id is on screen (exists and has a box)."""
        return (
            self.js(
                f"(function () {{ var el = document.getElementById({json.dumps(element_id)});"
                " return !!el && el.getClientRects().length > 0; })()"
            )
            is True
        )

    def visible_text(self) -> str:
        """All the text a person sees (document.body.innerText)."""
        return self.js("document.body.innerText")

    def alert(self) -> str | None:
        """The error Connect shows on its current screen (credentials, MFA, accounts), or None."""
        return self.js(
            "(function () { var screen = document.body.getAttribute('data-screen');"
            f" var ids = {json.dumps(_ALERTS)}; var el = document.getElementById(ids[screen]);"
            " return el && !el.hidden ? el.textContent.trim() : null; })()"
        )

    def prompts(self) -> list[str]:
        """The bank's questions on the MFA screen, in order."""
        return self.js(
            "Array.prototype.map.call(document.querySelectorAll('[data-testid=\"mfa-prompt\"]'),"
            " function (el) { return el.textContent; })"
        )

    def account_ids(self) -> list[str]:
        """The ids of the accounts offered on the account selection screen, in order."""
        return self.js(
            "Array.prototype.map.call(document.querySelectorAll('#account-list input[name=\"account\"]'),"
            " function (el) { return el.value; })"
        )

    # -- acting ----------------------------------------------------------------------------------------
    def click(self, selector: str) -> None:
        """Click the element `selector` (CSS) names, as Connect's own handlers see a click."""
        found = self.js(
            f"(function () {{ var el = document.querySelector({json.dumps(selector)});"
            " if (!el) return false; el.click(); return true; })()"
        )
        if not found:
            raise AssertionError(f"nothing matches {selector} in Connect (screen: {self.screen()})")

    def fill(self, element_id: str, value: str) -> None:
        """Type `value` into the field with that id (its input event fires, as when typed)."""
        found = self.js(
            f"(function () {{ var el = document.getElementById({json.dumps(element_id)}); if (!el) return false;"
            f" el.focus(); el.value = {json.dumps(value)};"
            " el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()"
        )
        if not found:
            raise AssertionError(f"no #{element_id} in Connect (screen: {self.screen()})")

    def open(self) -> str:
        """On the main window: Connect an account (its button on the welcome page, else the menu's
        Ctrl+N action); wait for Connect's first screen (consent or institutions) and return it."""
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QPushButton

        button = self.target.findChild(QPushButton, "connectButton")
        if button is not None and button.isVisible() and button.isEnabled():
            QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        else:
            self.target.connect_action.trigger()
        return self.wait_for_screen("consent", "institutions")

    def accept_consent(self) -> str:
        """Allow access on the consent screen; the institution selector comes next."""
        self.wait_for_screen("consent")
        self.click("#consent-accept")
        return self.wait_for_screen("institutions")

    def deny_consent(self) -> str:
        """Deny on the consent screen; Connect then says access was not granted."""
        self.wait_for_screen("consent")
        self.click("#consent-deny")
        return self.wait_for_screen("denied")

    def pick_institution(self, institution: str = "FlinksCapital") -> str:
        """Choose an institution by its Flinks id; the next screen: credentials, or "unavailable"
        for any bank but Flinks Capital (the offline sandbox answers for that one only)."""
        self.wait_for_screen("institutions")
        self.click(f'[data-testid="institution"][data-institution={json.dumps(institution)}]')
        return self.wait_for_screen("credentials", "unavailable")

    def type_credentials(self, username: str, password: str) -> None:
        """Type a username and password on the credentials screen, without submitting them."""
        self.wait_for_screen("credentials")
        self.fill("username", username)
        self.fill("password", password)

    def submit_credentials(self) -> str | None:
        """Continue on the credentials screen; the screen once the bank has answered (mfa,
        accounts, success, or credentials again with an alert), None if Connect closed meanwhile."""
        self.click("#submit")
        return self._settle()

    def sign_in(self, username: str, password: str) -> str | None:
        """`type_credentials` then `submit_credentials`."""
        self.type_credentials(username, password)
        return self.submit_credentials()

    def answer(self, answers: Mapping[str, str] | None = None, *, submit: bool = True) -> str | None:
        """Answer every question on the MFA screen from `answers` (prompt -> answer; the sandbox's
        own by default; a multiple choice is answered with the option's text) and continue; the
        screen once the bank has answered (another "mfa" for a further question, or with an alert
        for a wrong answer), None if Connect closed meanwhile (the app took the loginId)."""
        self.wait_for_screen("mfa")
        answers = sandbox_answers() if answers is None else answers
        prompts = self.prompts()
        missing = [prompt for prompt in prompts if prompt not in answers]
        if missing:
            raise AssertionError(f"no answer given for Connect's question(s) {missing}")
        for index, prompt in enumerate(prompts):
            element_id = "mfa-answer" + ("" if index == 0 else f"-{index}")
            chosen = self.js(
                f"(function () {{ var el = document.getElementById({json.dumps(element_id)}); if (!el) return false;"
                f" var answer = {json.dumps(answers[prompt])};"
                " if (el.tagName === 'INPUT') { el.focus(); el.value = answer;"
                "   el.dispatchEvent(new Event('input', {bubbles: true})); return true; }"
                " var options = el.querySelectorAll('[data-testid=\"mfa-option\"]');"
                " for (var i = 0; i < options.length; i++) {"
                "   if (options[i].value === answer) { options[i].click(); return true; } }"
                " return false; })()"
            )
            if not chosen:
                raise AssertionError(f"Connect's question {prompt!r} has no field or option for {answers[prompt]!r}")
        if not submit:
            return "mfa"
        self.click("#mfa-submit")
        return self._settle()

    def select_accounts(self, *indexes: int) -> list[str]:
        """On the account selection screen: tick the accounts at `indexes` (the first by default;
        several with accountSelectorMultiple) and continue; their ids."""
        self.wait_for_screen("accounts")
        wait_until(
            self.bot,
            lambda: (
                self.js(
                    "document.querySelectorAll('#account-list input[name=\"account\"]')"
                    ".length > 0 || !document.getElementById('accounts-error').hidden"
                )
                is True
            ),
            timeout=self.timeout,
            failure="Connect did not list the accounts",
        )
        chosen = []
        for index in indexes or (0,):
            value = self.js(
                f"(function () {{ var el = document.getElementById('account-{index}');"
                " if (!el) return null; if (!el.checked) el.click(); return el.value; })()"
            )
            if value is None:
                raise AssertionError(f"Connect offers no account at index {index}{self._alert_suffix('accounts')}")
            chosen.append(value)
        self.click("#account-continue")
        return chosen

    def close(self) -> None:
        """Connect's close button (closeEnable=true): the app goes back to where it was."""
        self.click("#close")


# -- the main window ---------------------------------------------------------------------------------


def connect(
    bot: Bot,
    window: MainWindow,
    *,
    institution: str = "FlinksCapital",
    username: str = "Greatday",
    password: str = "Everyday",
    answers: Mapping[str, str] | None = None,
    accept_consent: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> str | None:
    """Connect an account through the sandbox's Connect page, in the window's own view: Connect an
    account, consent, the institution, the credentials, the bank's questions (`answers`, prompt ->
    answer; the sandbox's own by default), the first account when Connect asks for one. Returns the
    loginId once the window has linked it and shows its accounts.

    `accept_consent=False` denies the consent instead: nothing is linked, and None is returned.
    AssertionError, saying where it stopped and what Connect or the window said, when it does not
    get there (a wrong password or answer, an institution the sandbox does not serve, a failed sync).
    """
    page = ConnectPage(bot, window, timeout=timeout)
    captured: list[str] = []
    finished: dict[str, str] = {}

    def on_captured(login_id: str, _institution: str) -> None:
        captured.append(login_id)

    def on_finished(login_id: str, outcome: str) -> None:
        finished[login_id] = outcome

    view = window.connect_view
    view.loginCaptured.connect(on_captured)
    window.syncFinished.connect(on_finished)
    try:
        if page.open() == "consent":
            if not accept_consent:
                page.deny_consent()
                return None
            page.accept_consent()
        if page.pick_institution(institution) != "credentials":
            raise AssertionError(f"Connect cannot sign in to {institution}: {page.visible_text()!r}")
        screen = page.sign_in(username, password)
        for _round in range(10):
            if screen != "mfa":
                break
            screen = page.answer(answers)
            if screen == "mfa" and page.alert():
                raise AssertionError(f"Connect did not accept the answers to {page.prompts()}: {page.alert()}")
        if screen == "credentials":
            raise AssertionError(f"Connect did not accept {username!r} / {password!r}: {page.alert()}")
        if screen == "accounts":
            page.select_accounts(0)
        wait_until(
            bot,
            lambda: bool(captured),
            timeout=timeout,
            failure=lambda: f"Connect gave no loginId (it shows {page.screen()}; events {page.steps})",
        )
        login_id = captured[0]
        wait_until(
            bot,
            lambda: login_id in finished,
            timeout=timeout,
            failure=lambda: f"the window did not finish linking {login_id}: {window.statusBar().currentMessage()}",
        )
        if finished[login_id] != "ok":
            raise AssertionError(
                f"linking {login_id} ended {finished[login_id]!r}: {window.statusBar().currentMessage()}"
            )
        wait_until(
            bot,
            lambda: window.connections.current_login_id() == login_id and window.accounts_view.model.rowCount() > 0,
            timeout=timeout,
            failure=f"the accounts of {login_id} are not on screen",
        )
        return login_id
    finally:
        if _valid(view):
            view.loginCaptured.disconnect(on_captured)
        if _valid(window):
            window.syncFinished.disconnect(on_finished)


def mfa_dialog(window: MainWindow) -> QDialog | None:
    """The MFA dialog the window shows now, or None."""
    from PySide6.QtWidgets import QDialog

    return next((dialog for dialog in window.findChildren(QDialog, "mfaDialog") if dialog.isVisible()), None)


def answer_mfa(
    bot: Bot,
    window: MainWindow,
    answers: Mapping[str, str | Sequence[str]] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[str]:
    """Wait for the window's MFA dialog, answer each question as a person would (typing the text,
    picking the option, ticking the boxes) from `answers` (prompt -> answer, or answers for a
    question that takes several; the sandbox's own by default), and submit. The prompts answered.

    The dialog stays the same object after a wrong answer: call this again to answer the question
    it asks then (`mfaError` says why the bank refused the last one)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import (
        QCheckBox,
        QComboBox,
        QLabel,
        QLineEdit,
        QPushButton,
        QWidget,
    )

    wait_until(
        bot,
        lambda: mfa_dialog(window) is not None,
        timeout=timeout,
        failure=lambda: f"no MFA dialog came: {window.statusBar().currentMessage()}",
    )
    dialog = mfa_dialog(window)
    answers = sandbox_answers() if answers is None else answers
    submit = dialog.findChild(QPushButton, "mfaSubmit")
    if not submit.isVisible():
        raise AssertionError(f"the MFA dialog cannot be answered here: {dialog.findChild(QLabel, 'mfaError').text()}")
    prompts = []
    while (label := dialog.findChild(QLabel, f"mfaPrompt{len(prompts)}")) is not None:
        prompts.append(label.text())
    for index, prompt in enumerate(prompts):
        if prompt not in answers:
            raise AssertionError(f"no answer given for the bank's question {prompt!r}")
        given = answers[prompt]
        field = dialog.findChild(QWidget, f"mfaAnswer{index}")
        if isinstance(field, QLineEdit):
            field.clear()
            QTest.keyClicks(field, given if isinstance(given, str) else given[0])
        elif isinstance(field, QComboBox):
            position = field.findText(given if isinstance(given, str) else given[0])
            if position < 0:
                raise AssertionError(f"{given!r} is not one of the options of {prompt!r}")
            field.setCurrentIndex(position)
        else:
            wanted = {given} if isinstance(given, str) else set(given)
            for box in field.findChildren(QCheckBox):
                if (box.text().replace("&&", "&") in wanted) != box.isChecked():
                    QTest.mouseClick(box, Qt.MouseButton.LeftButton)
    if not submit.isEnabled():
        raise AssertionError(f"the MFA dialog's Submit stays disabled with the answers to {prompts}")
    QTest.mouseClick(submit, Qt.MouseButton.LeftButton)
    wait_until(bot, lambda: not dialog.isVisible(), timeout=timeout, failure="the MFA dialog did not close")
    return prompts


def wait_synced(bot: Bot, window: MainWindow, login_id: str, *, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Wait until no sync of `login_id` runs in the window (its own, or one of several connections);
    the connection's status then, as the cache has it ("ok", "needs_mfa", "error"). Call it after
    the action that started the sync (the sync starts with the click)."""

    def describe() -> str:
        asking = " The MFA dialog is asking (answer_mfa)." if mfa_dialog(window) is not None else ""
        return f"the sync of {login_id} did not end in time: {window.statusBar().currentMessage()}.{asking}"

    wait_until(bot, lambda: window.syncing not in (login_id, ""), timeout=timeout, failure=describe)
    login = window.store.login(login_id) if window.store is not None else None
    if login is None:
        raise AssertionError(f"{login_id} is not among the window's connections: {window.statusBar().currentMessage()}")
    return login.status


def delete_card(bot: Bot, window: MainWindow, local_only: bool = False, *, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Delete the selected connection as a person would: Delete card…, "Remove from this computer
    only" when `local_only`, the last 4 characters of its loginId typed to confirm, Delete, then
    Close once the outcome shows. Returns the outcome's sentence once the connection has left the
    list; AssertionError with that sentence when it was not deleted."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QPushButton, QRadioButton

    login = window.selected_login()
    if login is None:
        raise AssertionError("no connection is selected")
    button = window.findChild(QPushButton, "deleteCardButton")
    if not button.isEnabled():
        raise AssertionError(f"Delete card… is disabled: {window.statusBar().currentMessage()}")
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)

    def dialog() -> QDialog | None:
        return next((d for d in window.findChildren(QDialog, "deleteCardDialog") if d.isVisible()), None)

    wait_until(bot, lambda: dialog() is not None, timeout=timeout, failure="the delete card dialog did not open")
    shown = dialog()
    if local_only:
        QTest.mouseClick(shown.findChild(QRadioButton, "deleteLocalOnly"), Qt.MouseButton.LeftButton)
    QTest.keyClicks(shown.findChild(QLineEdit, "deleteConfirmInput"), login.id[-4:])
    QTest.mouseClick(shown.findChild(QPushButton, "deleteConfirmButton"), Qt.MouseButton.LeftButton)
    close = shown.findChild(QPushButton, "deleteCloseButton")
    wait_until(bot, close.isVisible, timeout=timeout, failure="the deletion did not end in time")
    outcome = shown.findChild(QLabel, "deleteOutcome")
    sentence, deleted = outcome.text(), outcome.property("outcome") == "ok"
    QTest.mouseClick(close, Qt.MouseButton.LeftButton)
    wait_until(bot, lambda: not shown.isVisible(), timeout=timeout, failure="the delete card dialog did not close")
    if not deleted:
        raise AssertionError(f"{login.id} was not deleted: {sentence}")
    wait_until(
        bot,
        lambda: all(row.id != login.id for row in window.connections.model.logins),
        timeout=timeout,
        failure=f"{login.id} is still listed",
    )
    return sentence


def close_window(bot: Bot, window: QWidget, *, timeout: float = 10.0) -> None:
    """Close and delete the main window the way a test's teardown must: close it (its background
    work is cancelled), let that work finish while the widgets still exist, then delete it now
    (QtWebEngine objects left to the garbage collector crash a later test)."""
    import asyncio

    if not _valid(window):
        return
    window.close()
    try:  # qasync's loop, marked running while Qt's turns (None: no asyncio work to wait for)
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:

        def settled() -> bool:
            return all(task.done() for task in asyncio.all_tasks(loop))

        with contextlib.suppress(AssertionError):  # a task of someone else's that never ends: not ours to wait for
            wait_until(bot, settled, timeout=timeout)
    window.deleteLater()
    wait_until(bot, lambda: not _valid(window), timeout=timeout, failure="the window was not deleted")


def _valid(qobject: Any) -> bool:
    """Whether the C++ object behind a Qt wrapper still exists (asking never touches it)."""
    import shiboken6

    return shiboken6.isValid(qobject)


def _pointer(qobject: Any) -> int:
    """The address of the C++ object: identifies a page without keeping it."""
    import shiboken6

    return shiboken6.getCppPointer(qobject)[0]
