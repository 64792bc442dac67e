"""The sandbox's Flinks Connect page, in a real QtWebEngine (offscreen), embedded cross-origin.

Each test loads a host page at http://localhost:PORT that embeds Connect from http://127.0.0.1:PORT
(another origin, as Flinks' own widget is for an integrator), walks the widget through its DOM ids
and checks the events the host page received, in order and field by field.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from connect_harness import ConnectHarness

from flinks_desktop.core.connect_events import (
    account_ids_from_event,
    account_ids_from_url,
    login_id_from_event,
    login_id_from_url,
    parse_connect_event,
)

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
FC = "FlinksCapital"
ENGLISH_PROMPTS = {
    "What city were you born in?",
    "What is the best country on earth?",
    "What shape do people like most?",
}
# The question's subject, in either language, gives its Flinks Capital answer.
ANSWERS = {
    "city": "Montreal",
    "ville": "Montreal",
    "country": "Canada",
    "pays": "Canada",
    "shape": "Triangle",
    "forme": "Triangle",
}
ENGLISH_WORDS = re.compile(
    r"\b(Select|Search|Username|Password|Continue|Security|Secure|Read-only|credentials|would like|"
    r"Allow|Deny|Choose|Show|Back|Test institution|Canadian|accounts?|selected|connected|your bank|receive|"
    r"never|Loading|Try again|Clear|doesn't)\b",
    re.IGNORECASE,  # innerText follows CSS text-transform (uppercase headings)
)


def answer_for(prompt: str) -> str:
    return next(answer for word, answer in ANSWERS.items() if word in prompt.lower())


def authorize_bodies(sandbox) -> list[dict]:
    return [json.loads(r.body) for r in sandbox.requests if r.path.endswith("/Authorize")]


@pytest.fixture
def connect(qtbot, flinks_sandbox_factory):
    """Open Connect in a host page; every view is torn down explicitly, console errors fail."""
    opened: list[ConnectHarness] = []

    def open_connect(sandbox, **options) -> ConnectHarness:
        harness = ConnectHarness(qtbot, sandbox, **options)
        opened.append(harness)
        return harness

    yield open_connect
    errors = [error for harness in opened for error in harness.page.console_errors]
    for harness in opened:
        harness.close()
    assert not errors, f"JavaScript console errors: {errors}"


def assert_no_console_errors(harness: ConnectHarness) -> None:
    assert harness.page.console_errors == []


def test_full_flow_posts_every_event_and_lands_on_the_redirect(connect, flinks_sandbox, qtbot):
    sandbox = flinks_sandbox
    redirect = f"http://localhost:{sandbox.port}/v2/done.html?from=host"
    h = connect(sandbox).open(
        demo="true",
        innerRedirect="true",
        redirectUrl=redirect,
        consentEnable="true",
        accountSelectorEnable="true",
        customerName="Acme <b>Lending</b>",
        institutionFilterEnable="true",
        accept_consent=False,
    )
    # Consent comes first, as in Flinks Connect; customerName is shown as text, never as markup.
    assert h.screen() == "consent"
    assert h.steps == ["APP_MOUNTED", "COMPONENT_LOAD_CONSENT"]
    assert h.text("consent-title") == "Acme <b>Lending</b> would like to access your bank accounts"
    assert h.js("document.querySelectorAll('#screen-consent b').length") == 0
    h.accept_consent()
    assert h.js("document.querySelector('#institution-list [data-institution]').dataset.institution") == FC

    h.select_institution()
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")
    hint = h.text("credentials-hint")
    for words in ("Greatday", "Everyday", "Montreal", "Canada", "Triangle"):
        assert words in hint
    assert h.js("document.activeElement.id") == "username"

    h.sign_in("Greatday", "Everyday")
    assert h.wait_for("COMPONENT_LOAD_MFA") == {
        "step": "COMPONENT_LOAD_MFA",
        "institution": FC,
        "mfaTypes": ["QuestionAndAnswer"],
    }
    prompt = h.text("mfa-prompt")
    assert prompt in ENGLISH_PROMPTS

    h.answer("Atlantis")  # wrong first: an error event, then the same question again
    h.wait_for("COMPONENT_LOAD_MFA_RETRY")
    assert h.is_visible("mfa-error") and "doesn't match" in h.text("mfa-error")
    assert h.text("mfa-prompt") == prompt

    h.answer(answer_for(prompt))
    loaded = h.wait_for("COMPONENT_LOAD_ACCOUNT_SELECTION")
    assert 1 <= loaded["displayedAccounts"] <= loaded["totalAccounts"]
    assert h.js("document.querySelectorAll('#account-list input[type=radio]').length") == loaded["displayedAccounts"]
    listing = h.text("account-list")
    assert "••••" in listing and re.search(r"\$\d[\d,]*\.\d\d", listing)
    account_id = h.choose_account(0)
    assert GUID.match(account_id)
    redirect_event = h.wait_for("REDIRECT")

    assert h.steps == [
        "APP_MOUNTED",
        "COMPONENT_LOAD_CONSENT",
        "COMPONENT_ACCEPT_CONSENT",
        "COMPONENT_LOAD_INSTITUTION_SELECTOR",
        "INSTITUTION_SELECTED",
        "COMPONENT_LOAD_CREDENTIAL",
        "SUBMIT_CREDENTIAL",
        "COMPONENT_LOAD_MFA",
        "SUBMIT_MFA",
        "INVALID_SECURITY_RESPONSE",
        "COMPONENT_LOAD_MFA_RETRY",
        "SUBMIT_MFA",
        "COMPONENT_LOAD_ACCOUNT_SELECTION",
        "ACCOUNT_SELECTED",
        "REDIRECT",
    ]
    assert h.data(0) == {"step": "APP_MOUNTED"}
    assert h.data(1) == {"step": "COMPONENT_LOAD_CONSENT"}
    assert h.data(2) == {"step": "COMPONENT_ACCEPT_CONSENT"}
    assert h.data(3) == {"step": "COMPONENT_LOAD_INSTITUTION_SELECTOR"}
    assert h.data(4) == {"step": "INSTITUTION_SELECTED", "institution": FC}
    error = h.data(9)
    assert error["flinksCode"] == "INVALID_SECURITY_RESPONSE" and error["institution"] == FC
    assert GUID.match(error["requestId"])
    assert h.data(10) == {"step": "COMPONENT_LOAD_MFA_RETRY", "institution": FC, "mfaTypes": ["QuestionAndAnswer"]}
    assert h.data(13) == {"step": "ACCOUNT_SELECTED", "institution": FC, "accountId": account_id}
    for index in range(4, len(h.steps)):
        assert h.data(index)["institution"] == FC
    # Every event comes from the sandbox's origin, and the host page recorded exactly these.
    assert {event["origin"] for event in h.page.events} == {sandbox.base_url}
    assert h.recorded_events() == h.page.events

    assert set(redirect_event) == {"step", "institution", "url", "accountId"}
    assert redirect_event["accountId"] == account_id
    url = redirect_event["url"]
    assert url.startswith(redirect + "&loginId=")
    query = parse_qs(urlsplit(url).query)
    assert query["institution"] == [FC] and query["from"] == ["host"] and query["accountId"] == [account_id]
    login_id = query["loginId"][0]
    assert GUID.match(login_id)
    assert url == f"{redirect}&loginId={login_id}&institution={FC}&accountId={account_id}"

    # innerRedirect=true: the iframe itself goes to the redirect URL.
    qtbot.waitUntil(lambda: "loginId=" in h.frame_url(), timeout=10_000)
    assert h.frame_url() == url
    assert (url, False) in h.page.navigations

    # The loginId is a real one: it authorizes from the cache.
    answer = httpx.post(f"{sandbox.banking_url}/Authorize", json={"LoginId": login_id, "MostRecentCached": True})
    assert answer.status_code == 200
    assert answer.json()["Login"]["Id"] == login_id
    assert_no_console_errors(h)


# -- consent -----------------------------------------------------------------------------------
CONSENT_STEPS = [
    "APP_MOUNTED",
    "COMPONENT_LOAD_CONSENT",
    "COMPONENT_ACCEPT_CONSENT",
    "COMPONENT_LOAD_INSTITUTION_SELECTOR",
]


@pytest.mark.parametrize("parameters", [{"consentEnable": "true"}, {}], ids=["consentEnable=true", "default"])
def test_consent_is_the_first_screen_and_its_events_come_before_the_institutions(connect, flinks_sandbox, parameters):
    """Flinks Connect's order: consent, institution, credentials, MFA. Consent is on by default."""
    h = connect(flinks_sandbox).open(demo="true", detailsAndStatementEnable="true", accept_consent=False, **parameters)
    assert h.screen() == "consent"
    assert h.steps == CONSENT_STEPS[:2]
    assert h.data(1) == {"step": "COMPONENT_LOAD_CONSENT"}  # no institution chosen yet
    assert h.js("document.activeElement.id") == "consent-title"
    text = h.visible_text()
    assert "This application would like to access your bank accounts" in text
    for item in ("Account details and balances", "Transaction history", "Bank statements", "read-only"):
        assert item in text
    assert not h.is_visible("institution-list") and not h.is_visible("back")
    # Nothing behind the consent screen can be reached before it is accepted.
    h.select_institution()
    assert "INSTITUTION_SELECTED" not in h.steps and h.screen() == "consent"

    h.accept_consent()
    assert h.steps == CONSENT_STEPS
    assert [h.data(i) for i in range(4)] == [{"step": step} for step in CONSENT_STEPS]
    assert h.screen() == "institutions"
    h.select_institution()
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")
    h.sign_in("greatday_nomfa", "Everyday")
    h.wait_for("REDIRECT")
    # Consent is asked once, before the institution: not again after the sign-in.
    assert h.steps == CONSENT_STEPS + [
        "INSTITUTION_SELECTED",
        "COMPONENT_LOAD_CREDENTIAL",
        "SUBMIT_CREDENTIAL",
        "REDIRECT",
    ]
    assert_no_console_errors(h)


def test_consent_enable_false_skips_consent(connect, flinks_sandbox):
    h = connect(flinks_sandbox).open(
        demo="true", consentEnable="false", accountSelectorEnable="true", accept_consent=False
    )
    assert h.screen() == "institutions"
    assert h.steps == ["APP_MOUNTED", "COMPONENT_LOAD_INSTITUTION_SELECTOR"]
    h.select_institution()
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")
    h.sign_in("Greatday", "Everyday")
    h.wait_for("COMPONENT_LOAD_MFA")
    h.answer(answer_for(h.text("mfa-prompt")))
    h.wait_for("COMPONENT_LOAD_ACCOUNT_SELECTION")
    h.choose_account(0)
    h.wait_for("REDIRECT")
    assert not [step for step in h.steps if "CONSENT" in step]
    assert h.steps == [
        "APP_MOUNTED",
        "COMPONENT_LOAD_INSTITUTION_SELECTOR",
        "INSTITUTION_SELECTED",
        "COMPONENT_LOAD_CREDENTIAL",
        "SUBMIT_CREDENTIAL",
        "COMPONENT_LOAD_MFA",
        "SUBMIT_MFA",
        "COMPONENT_LOAD_ACCOUNT_SELECTION",
        "ACCOUNT_SELECTED",
        "REDIRECT",
    ]
    assert_no_console_errors(h)


def test_wrong_password_and_bank_errors_are_shown_and_retried(connect, flinks_sandbox):
    h = connect(flinks_sandbox).open(demo="true")
    h.select_institution()
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")

    h.sign_in("Greatday", "Nopeday")
    h.wait_for("COMPONENT_LOAD_CREDENTIAL_RETRY")
    assert h.steps[-3:] == ["SUBMIT_CREDENTIAL", "INVALID_LOGIN", "COMPONENT_LOAD_CREDENTIAL_RETRY"]
    error = h.data(-2)
    assert set(error) == {"flinksCode", "requestId", "institution"}
    assert error["flinksCode"] == "INVALID_LOGIN" and error["institution"] == FC
    assert h.data(-1) == {"step": "COMPONENT_LOAD_CREDENTIAL_RETRY", "institution": FC}
    assert h.is_visible("credentials-error")
    assert h.text("credentials-error") == "The username or password is incorrect. Check them and try again."
    assert h.js("document.getElementById('password').value") == ""
    assert h.js("document.activeElement.id") == "password"
    assert authorize_bodies(flinks_sandbox)[0] == {
        "Institution": FC,
        "Username": "Greatday",
        "Password": "Nopeday",
        "MostRecentCached": False,
        "Save": True,
        "Language": "en",
    }

    retries = 1
    for username, code, message in (
        ("test_disabled_account", "DISABLED_LOGIN", "disabled online access"),
        ("test_service_unavailable", "RETRY_LATER", "try again in a few minutes"),
    ):
        h.sign_in(username, "Everyday")
        retries += 1
        h.wait_for("COMPONENT_LOAD_CREDENTIAL_RETRY", count=retries)
        error = h.data(-2)
        assert error["flinksCode"] == code and GUID.match(error["requestId"])
        assert message in h.text("credentials-error")

    h.sign_in("Greatday", "Everyday")
    h.wait_for("COMPONENT_LOAD_MFA")
    assert h.screen() == "mfa"
    assert not h.is_visible("mfa-error")
    assert_no_console_errors(h)


def test_stringify_posts_json_strings(connect, flinks_sandbox):
    h = connect(flinks_sandbox).open(demo="true", stringify="true")
    assert not h.is_visible("close")
    h.select_institution()
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")
    h.sign_in("greatday_nomfa", "Everyday")
    redirect = h.wait_for("REDIRECT")

    assert all(isinstance(event["data"], str) for event in h.page.events)
    assert h.page.events[0]["data"] == '{"step":"APP_MOUNTED"}'
    assert h.page.events[1]["data"] == '{"step":"COMPONENT_LOAD_CONSENT"}'
    assert h.steps == CONSENT_STEPS + [
        "INSTITUTION_SELECTED",
        "COMPONENT_LOAD_CREDENTIAL",
        "SUBMIT_CREDENTIAL",
        "REDIRECT",
    ]
    # No redirectUrl: the URL still carries the loginId, and the widget stays on its success screen.
    url = redirect["url"]
    assert url.startswith(f"{flinks_sandbox.base_url}/v2/done.html?loginId=")
    assert GUID.match(parse_qs(urlsplit(url).query)["loginId"][0])
    assert h.screen() == "success"
    assert not h.is_visible("success-continue")
    assert_no_console_errors(h)


def test_french_page_text_and_french_security_questions(connect, flinks_sandbox_factory):
    """language=fr: every visible string in French, on every screen; the events are the same."""
    sandbox = flinks_sandbox_factory(mfa_rounds=2)
    h = connect(sandbox).open(
        demo="true",
        language="fr",
        institutionFilterEnable="true",
        consentEnable="true",
        customerName="Prêts Acme",
        closeEnable="true",
        detailsAndStatementEnable="true",
        accountSelectorEnable="true",
        accountSelectorMultiple="true",
        accept_consent=False,
    )
    assert h.js("document.documentElement.lang") == "fr"
    assert h.js("document.title") == "Connectez votre compte"
    assert h.js("document.getElementById('close').getAttribute('aria-label')") == "Fermer"
    text = h.visible_text()
    assert h.text("consent-title") == "Prêts Acme souhaite accéder à vos comptes bancaires"
    for words in (
        "Prêts Acme utilise Flinks",
        "L'historique de vos transactions",
        "Vos relevés bancaires",
        "lecture seule",
        "Autoriser l'accès",
        "Refuser",
        "Connexion sécurisée",
    ):
        assert words.lower() in text.lower(), words
    assert not ENGLISH_WORDS.search(text), text
    h.accept_consent()

    text = h.visible_text()
    assert "Choisissez votre institution" in text and "Institution de test" in text
    assert "institutions canadiennes" in text.lower()
    assert not ENGLISH_WORDS.search(text), text
    assert h.js("document.getElementById('institution-search').placeholder") == "Rechercher votre institution"
    h.fill("institution-search", "zzz")
    assert h.text("institution-empty") == "Aucune institution ne correspond à « zzz »."
    h.fill("institution-search", "banque royale")  # French names are searched too
    assert (
        h.js(
            "Array.from(document.querySelectorAll('#institution-list .fc-inst'))"
            ".filter(function (b) { return b.getClientRects().length; }).length"
        )
        == 1
    )
    h.fill("institution-search", "")

    h.select_institution()
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")
    text = h.visible_text()
    for words in (
        "Connectez-vous à Flinks Capital",
        "Nom d'utilisateur",
        "Mot de passe",
        "Identifiants de test",
        "Continuer",
        "Afficher",
    ):
        assert words.lower() in text.lower()  # innerText follows CSS text-transform
    assert not ENGLISH_WORDS.search(text), text
    assert h.js("document.getElementById('password-toggle').getAttribute('aria-label')") == "Afficher le mot de passe"

    h.sign_in("Greatday", "Nopeday")  # errors are in French too
    h.wait_for("COMPONENT_LOAD_CREDENTIAL_RETRY")
    assert h.text("credentials-error") == (
        "Le nom d'utilisateur ou le mot de passe est incorrect. Vérifiez-les et réessayez."
    )
    assert not ENGLISH_WORDS.search(h.visible_text())

    h.sign_in("Greatday", "Everyday")
    prompts = []
    for round_ in (1, 2):
        h.wait_for("COMPONENT_LOAD_MFA", count=round_)
        prompt = h.text("mfa-prompt")
        prompts.append(prompt)
        assert prompt not in ENGLISH_PROMPTS
        assert not ENGLISH_WORDS.search(h.visible_text())
        if round_ == 1:
            h.answer("Atlantide")
            h.wait_for("COMPONENT_LOAD_MFA_RETRY")
            assert h.text("mfa-error") == "Cette réponse ne correspond pas à celle de votre banque. Réessayez."
        h.answer(answer_for(prompt))
    assert len(set(prompts)) == 2
    assert authorize_bodies(sandbox)[0]["Language"] == "fr"

    h.wait_for("COMPONENT_LOAD_ACCOUNT_SELECTION")
    text = h.visible_text()
    for words in ("Choisissez vos comptes", "Aucun compte sélectionné", "Tout sélectionner", "Chèques"):
        assert words in text, words
    assert re.search(r"\d,\d\d\s\$", text)  # amounts as French Canada writes them: 1 234,56 $
    assert not ENGLISH_WORDS.search(text), text
    h.click("#accounts-select-all")
    assert h.text("accounts-select-all") == "Tout désélectionner"
    h.click("#accounts-select-all")
    chosen = h.choose_accounts(0, 1)
    h.wait_for("REDIRECT")
    text = h.visible_text()
    assert "Vous êtes connecté" in text
    assert "Vos 2 comptes Flinks Capital sont maintenant connectés à Prêts Acme." in text
    assert not ENGLISH_WORDS.search(text), text

    # The events are Flinks' own, whatever the language.
    assert h.steps == CONSENT_STEPS + [
        "INSTITUTION_SELECTED",
        "COMPONENT_LOAD_CREDENTIAL",
        "SUBMIT_CREDENTIAL",
        "INVALID_LOGIN",
        "COMPONENT_LOAD_CREDENTIAL_RETRY",
        "SUBMIT_CREDENTIAL",
        "COMPONENT_LOAD_MFA",
        "SUBMIT_MFA",
        "INVALID_SECURITY_RESPONSE",
        "COMPONENT_LOAD_MFA_RETRY",
        "SUBMIT_MFA",
        "COMPONENT_LOAD_MFA",
        "SUBMIT_MFA",
        "COMPONENT_LOAD_ACCOUNT_SELECTION",
        "ACCOUNT_SELECTED",
        "REDIRECT",
    ]
    assert h.data(-1)["accountId"] == chosen
    assert_no_console_errors(h)


def test_close_button_and_denied_consent(connect, flinks_sandbox):
    h = connect(flinks_sandbox).open(
        demo="true", closeEnable="true", consentEnable="true", customerName="Acme Lending", accept_consent=False
    )
    assert h.is_visible("close")
    h.click("#close")
    assert h.wait_for("COMPONENT_CLOSE_SESSION") == {"step": "COMPONENT_CLOSE_SESSION"}

    h.click("#consent-deny")
    assert h.wait_for("COMPONENT_DENY_CONSENT") == {"step": "COMPONENT_DENY_CONSENT"}
    assert h.screen() == "denied"
    assert h.text("denied-text") == "Acme Lending will not receive any of your information."
    assert "INSTITUTION_SELECTED" not in h.steps and "REDIRECT" not in h.steps
    assert not any(r.path.endswith("/Authorize") for r in flinks_sandbox.requests)
    h.click("#denied-restart")  # back to the consent screen, to choose again
    h.wait_for("COMPONENT_LOAD_CONSENT", count=2)
    assert h.screen() == "consent"

    h.accept_consent()
    h.select_institution()
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")
    h.click("#close")
    assert h.wait_for("COMPONENT_CLOSE_SESSION", count=2) == {"step": "COMPONENT_CLOSE_SESSION", "institution": FC}
    assert h.steps == [
        "APP_MOUNTED",
        "COMPONENT_LOAD_CONSENT",
        "COMPONENT_CLOSE_SESSION",
        "COMPONENT_DENY_CONSENT",
        "COMPONENT_LOAD_CONSENT",
        "COMPONENT_ACCEPT_CONSENT",
        "COMPONENT_LOAD_INSTITUTION_SELECTOR",
        "INSTITUTION_SELECTED",
        "COMPONENT_LOAD_CREDENTIAL",
        "COMPONENT_CLOSE_SESSION",
    ]
    assert_no_console_errors(h)


def test_search_and_an_institution_the_sandbox_cannot_reach(connect, flinks_sandbox):
    h = connect(flinks_sandbox).open(demo="true", institutionFilterEnable="true")

    def visible():
        return json.loads(
            h.js(
                "JSON.stringify(Array.from(document.querySelectorAll('#institution-list .fc-inst'))"
                ".filter(function (b) { return b.getClientRects().length; })"
                ".map(function (b) { return b.dataset.institution; }))"
            )
        )

    tiles = visible()
    assert tiles[0] == FC and len(tiles) > 10

    h.fill("institution-search", "zzz")
    assert h.is_visible("institution-empty") and "zzz" in h.text("institution-empty")
    h.fill("institution-search", "scotia")
    assert visible() == ["Scotia"]
    h.js(
        "document.getElementById('institution-search').dispatchEvent("
        "new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}))"
    )  # Enter picks the only match
    assert h.wait_for("DISABLED_INSTITUTION") == {"step": "DISABLED_INSTITUTION", "institution": "Scotia"}
    assert h.steps[-2:] == ["INSTITUTION_SELECTED", "DISABLED_INSTITUTION"]
    assert h.screen() == "unavailable"
    assert "Scotiabank" in h.text("unavailable-title")
    assert not any(r.path.endswith("/Authorize") for r in flinks_sandbox.requests)

    h.click("#unavailable-back")
    h.wait_for("COMPONENT_LOAD_INSTITUTION_SELECTOR", count=2)
    assert h.screen() == "institutions"
    assert_no_console_errors(h)


def test_theme_colours_are_validated_and_demo_false_hides_flinks_capital(connect, flinks_sandbox):
    primary = "getComputedStyle(document.documentElement).getPropertyValue('--fc-primary').trim()"
    h = connect(flinks_sandbox).open(foregroundColor1="0a7c55", backgroundColor="fff")
    assert h.js(primary) == "#0a7c55"
    assert h.js("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    assert h.js("document.querySelector('[data-institution=\"FlinksCapital\"]') === null") is True

    other = connect(flinks_sandbox).open(demo="true", foregroundColor1="red;}body{display:none", backgroundColor="12")
    assert other.js(primary) == "#1f5af6"  # not hex: ignored, the default blue stays
    assert other.js("getComputedStyle(document.body).display") == "block"
    assert_no_console_errors(h)
    assert_no_console_errors(other)


def test_authorize_token_goes_with_the_first_authorize_only(connect, flinks_sandbox_factory):
    sandbox = flinks_sandbox_factory(auth_key="s3cret")
    issued = httpx.post(f"{sandbox.banking_url}/GenerateAuthorizeToken", headers={"flinks-auth-key": "s3cret"})
    token = issued.json()["Token"]
    h = connect(sandbox).open(demo="true", authorizeToken=token)
    h.select_institution()
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")
    h.sign_in("Greatday", "Everyday")
    h.wait_for("COMPONENT_LOAD_MFA")
    h.answer(answer_for(h.text("mfa-prompt")))
    redirect = h.wait_for("REDIRECT")
    assert GUID.match(parse_qs(urlsplit(redirect["url"]).query)["loginId"][0])

    authorizes = [r for r in sandbox.requests if r.path.endswith("/Authorize")]
    assert [r.status for r in authorizes] == [203, 200]
    assert authorizes[0].headers.get("flinks-auth-key") == token
    assert "flinks-auth-key" not in authorizes[1].headers  # the MFA answer rides on the RequestId
    assert_no_console_errors(h)


def test_top_window_redirect_when_not_inner(connect, flinks_sandbox, qtbot):
    """Without innerRedirect the widget navigates the top window; the embedding app intercepts it."""
    redirect = "https://thank-you.invalid/done"
    h = connect(
        flinks_sandbox,
        # An embedder that lets Connect navigate it (as Flinks asks for the top redirect to work).
        iframe_attrs='sandbox="allow-scripts allow-same-origin allow-forms allow-top-navigation"',
        block=lambda url: url.host() == "thank-you.invalid",
    ).open(demo="true", redirectUrl=redirect)
    h.select_institution()
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")
    h.sign_in("greatday_nomfa", "Everyday")
    url = h.wait_for("REDIRECT")["url"]
    assert url.startswith(redirect + "?loginId=") and url.endswith("&institution=FlinksCapital")
    qtbot.waitUntil(lambda: (url, True) in h.page.navigations, timeout=10_000)
    assert h.js("document.getElementById('success-continue').getAttribute('href')") == url
    assert_no_console_errors(h)


def test_real_clicks_and_keys(connect, flinks_sandbox, qtbot):
    """A person's input: a mouse click on the tile, then focus is in the username, Tab, Enter."""
    from PySide6.QtCore import Qt

    h = connect(flinks_sandbox).open(demo="true")
    h.real_click("#institution-FlinksCapital")
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")
    assert h.steps.count("INSTITUTION_SELECTED") == 1
    assert h.js("document.activeElement.id") == "username"
    target = h.view.focusProxy()
    qtbot.keyClicks(target, "greatday_nomfa")
    qtbot.waitUntil(lambda: h.js("document.getElementById('username').value") == "greatday_nomfa")
    qtbot.keyClick(target, Qt.Key.Key_Tab)
    qtbot.keyClicks(target, "Everyday")
    qtbot.keyClick(target, Qt.Key.Key_Return)
    h.wait_for("REDIRECT")
    assert h.steps == CONSENT_STEPS + [
        "INSTITUTION_SELECTED",
        "COMPONENT_LOAD_CREDENTIAL",
        "SUBMIT_CREDENTIAL",
        "REDIRECT",
    ]
    assert authorize_bodies(flinks_sandbox)[0]["Password"] == "Everyday"
    assert_no_console_errors(h)


TAG = "order 42&x=é/ü?#"  # needs URL-encoding, every character of it


def test_tag_is_handed_back_in_the_redirect(connect, flinks_sandbox, qtbot):
    """Like Flinks Connect: `tag` comes back in the REDIRECT url and the page it lands on."""
    from PySide6.QtCore import QUrl

    redirect = f"http://localhost:{flinks_sandbox.port}/v2/done.html?from=host#top"
    h = connect(flinks_sandbox).open(demo="true", innerRedirect="true", redirectUrl=redirect, tag=TAG)
    h.select_institution()
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")
    h.sign_in("greatday_nomfa", "Everyday")
    event = h.wait_for("REDIRECT")
    assert set(event) == {"step", "institution", "url"}
    url = event["url"]
    query = parse_qs(urlsplit(url).query)
    assert query["tag"] == [TAG] and query["institution"] == [FC] and query["from"] == ["host"]
    login_id = query["loginId"][0]
    assert GUID.match(login_id)
    assert url == (
        f"http://localhost:{flinks_sandbox.port}/v2/done.html?from=host&loginId={login_id}"
        f"&institution={FC}&tag={quote(TAG, safe='')}#top"
    )
    assert h.js("document.getElementById('success-continue').getAttribute('href')") == url

    qtbot.waitUntil(lambda: "loginId=" in h.frame_url(), timeout=10_000)
    # The page it navigated to carries the tag too (QUrl shows it decoded; the frame has it as sent).
    assert QUrl(h.frame_url()) == QUrl(url)
    assert h.js("location.href") == url
    assert QUrl(url).toString() in [target for target, _ in h.page.navigations]
    assert "tag" not in authorize_bodies(flinks_sandbox)[0]
    assert_no_console_errors(h)


def test_tag_without_a_redirect_url(connect, flinks_sandbox):
    h = connect(flinks_sandbox).open(demo="true", tag=TAG, stringify="true")
    h.select_institution()
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")
    h.sign_in("greatday_nomfa", "Everyday")
    url = h.wait_for("REDIRECT")["url"]
    assert url.startswith(f"{flinks_sandbox.base_url}/v2/done.html?loginId=")
    assert url.endswith(f"&institution={FC}&tag={quote(TAG, safe='')}")
    assert parse_qs(urlsplit(url).query)["tag"] == [TAG]
    assert h.screen() == "success"
    assert_no_console_errors(h)


# -- account selection: accountId in the events and the redirect ------------------------------
def sign_in_to_the_account_selection(h, username="greatday_nomfa") -> dict:
    h.select_institution()
    h.wait_for("COMPONENT_LOAD_CREDENTIAL")
    h.sign_in(username, "Everyday")
    return h.wait_for("COMPONENT_LOAD_ACCOUNT_SELECTION")


def session_accounts(sandbox) -> list[dict]:
    """Every account of the signed-in user, as the sandbox gives them to the account selection."""
    request_id = next(r.body for r in reversed(sandbox.requests) if r.path.endswith("/v2/session/accounts"))
    answer = httpx.post(f"{sandbox.base_url}/v2/session/accounts", content=request_id)
    assert answer.status_code == 200
    return answer.json()["Accounts"]


def listed_accounts(h) -> list[str]:
    return json.loads(
        h.js(
            "JSON.stringify(Array.from(document.querySelectorAll('#account-list input'))"
            ".map(function (i) { return i.value; }))"
        )
    )


def test_single_account_id_in_the_redirect_event_url_and_landing_page(connect, flinks_sandbox, qtbot):
    sandbox = flinks_sandbox
    redirect = f"http://localhost:{sandbox.port}/v2/done.html"
    h = connect(sandbox).open(
        demo="true", innerRedirect="true", redirectUrl=redirect, accountSelectorEnable="true", tag=TAG
    )
    sign_in_to_the_account_selection(h)
    assert h.screen() == "accounts"
    assert h.text("accounts-title") == "Choose an account" and not h.is_visible("accounts-toolbar")
    assert h.js("document.getElementById('account-continue').disabled") is True
    account_id = h.choose_account(1)
    event = h.wait_for("REDIRECT")
    assert h.data(-2) == {"step": "ACCOUNT_SELECTED", "institution": FC, "accountId": account_id}
    assert event["accountId"] == account_id and set(event) == {"step", "institution", "url", "accountId"}
    url = event["url"]
    login_id = parse_qs(urlsplit(url).query)["loginId"][0]
    # loginId, institution, accountId, then tag: each URL-encoded.
    assert url == f"{redirect}?loginId={login_id}&institution={FC}&accountId={account_id}&tag={quote(TAG, safe='')}"

    # What the app reads from it: the event as it arrived, and the page it lands on.
    parsed = parse_connect_event(h.page.events[-1]["data"])
    assert login_id_from_event(parsed) == (login_id, FC)
    assert account_ids_from_event(parsed) == [account_id]
    qtbot.waitUntil(lambda: "loginId=" in h.frame_url(), timeout=10_000)
    landing = h.js("location.href")
    assert landing == url
    assert login_id_from_url(landing, redirect) == (login_id, FC)
    assert account_ids_from_url(landing, redirect) == [account_id]
    assert_no_console_errors(h)


def test_several_account_ids_with_account_selector_multiple(connect, flinks_sandbox, qtbot):
    sandbox = flinks_sandbox
    redirect = f"http://localhost:{sandbox.port}/v2/done.html?from=host"
    h = connect(sandbox).open(
        demo="true",
        innerRedirect="true",
        redirectUrl=redirect,
        accountSelectorEnable="true",
        accountSelectorMultiple="true",
        stringify="true",
    )
    loaded = sign_in_to_the_account_selection(h)
    listed = listed_accounts(h)
    assert len(listed) == loaded["displayedAccounts"] >= 3
    assert h.js("document.querySelectorAll('#account-list input[type=checkbox]').length") == len(listed)
    assert h.text("accounts-title") == "Choose your accounts"
    assert h.text("accounts-count") == "No account selected"
    assert h.js("document.getElementById('account-continue').disabled") is True

    h.click("#accounts-select-all")  # every account, then none again
    assert h.text("accounts-count") == f"{len(listed)} accounts selected"
    assert h.text("accounts-select-all") == "Clear selection"
    h.click("#accounts-select-all")
    assert h.text("accounts-count") == "No account selected"

    chosen = h.choose_accounts(0, 2)
    assert chosen == [listed[0], listed[2]]
    event = h.wait_for("REDIRECT")
    assert h.data(-2) == {"step": "ACCOUNT_SELECTED", "institution": FC, "accountId": chosen}
    assert event["accountId"] == chosen  # a list, as the event was posted (JSON text here)
    url = event["url"]
    query = parse_qs(urlsplit(url).query)
    login_id = query["loginId"][0]
    assert url == f"{redirect}&loginId={login_id}&institution={FC}&accountId={chosen[0]},{chosen[1]}"
    assert query["accountId"] == [f"{chosen[0]},{chosen[1]}"]  # comma-separated, as Flinks documents
    assert "Your 2 Flinks Capital accounts are now connected." in h.visible_text()

    parsed = parse_connect_event(h.page.events[-1]["data"])
    assert parsed is not None and login_id_from_event(parsed) == (login_id, FC)
    assert account_ids_from_event(parsed) == chosen
    qtbot.waitUntil(lambda: "loginId=" in h.frame_url(), timeout=10_000)
    landing = h.js("location.href")
    assert landing == url
    assert account_ids_from_url(landing, redirect) == chosen
    assert_no_console_errors(h)


def test_one_account_with_account_selector_multiple_is_still_a_list(connect, flinks_sandbox):
    h = connect(flinks_sandbox).open(demo="true", accountSelectorEnable="true", accountSelectorMultiple="true")
    sign_in_to_the_account_selection(h)
    chosen = h.choose_accounts(1)
    event = h.wait_for("REDIRECT")
    assert event["accountId"] == chosen and h.data(-2)["accountId"] == chosen
    assert parse_qs(urlsplit(event["url"]).query)["accountId"] == chosen
    assert "Your Flinks Capital account is now connected." in h.visible_text()
    assert_no_console_errors(h)


def test_the_selector_lists_operations_accounts_unless_show_all_accounts(connect, flinks_sandbox):
    """As Flinks does: only operations accounts by default; showAllAccounts=true lists every one."""
    h = connect(flinks_sandbox).open(demo="true", accountSelectorEnable="true")
    loaded = sign_in_to_the_account_selection(h)
    accounts = session_accounts(flinks_sandbox)
    operations = [a["Id"] for a in accounts if a.get("Category") in (None, "Operations")]
    assert operations and len(operations) < len(accounts)  # the sample user has a credit card too
    assert listed_accounts(h) == operations
    assert loaded == {
        "step": "COMPONENT_LOAD_ACCOUNT_SELECTION",
        "institution": FC,
        "totalAccounts": len(accounts),
        "displayedAccounts": len(operations),
    }

    every = connect(flinks_sandbox).open(demo="true", accountSelectorEnable="true", showAllAccounts="true")
    loaded = sign_in_to_the_account_selection(every)
    assert listed_accounts(every) == [a["Id"] for a in accounts]
    assert loaded["displayedAccounts"] == loaded["totalAccounts"] == len(accounts)
    assert "Credit card" in every.text("account-list")
    assert_no_console_errors(h)
    assert_no_console_errors(every)


@pytest.mark.parametrize("currency", ["usd", "USD", "cad,usd"])
def test_account_selector_currency_lists_those_currencies_only(connect, flinks_sandbox, currency):
    h = connect(flinks_sandbox).open(
        demo="true", accountSelectorEnable="true", accountSelectorCurrency=currency, showAllAccounts="true"
    )
    sign_in_to_the_account_selection(h)
    wanted = currency.upper().split(",")
    accounts = session_accounts(flinks_sandbox)
    expected = [a["Id"] for a in accounts if a["Currency"] in wanted]
    assert expected and listed_accounts(h) == expected
    assert_no_console_errors(h)


def test_no_account_to_list_says_so(connect, flinks_sandbox):
    h = connect(flinks_sandbox).open(demo="true", accountSelectorEnable="true", accountSelectorCurrency="eur")
    loaded = sign_in_to_the_account_selection(h)
    assert loaded["displayedAccounts"] == 0 < loaded["totalAccounts"]
    assert h.text("accounts-empty") == "None of the accounts of this login can be connected here."
    assert h.js("document.getElementById('account-continue').disabled") is True
    h.click("#account-continue")
    assert "REDIRECT" not in h.steps
    assert_no_console_errors(h)
