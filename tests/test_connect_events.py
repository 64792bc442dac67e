"""Reading Flinks Connect's messages: what is an event, and which loginId a success hands over.

The published samples (docs.flinks.com, the Flinks help centre, Flinks' own integration demo) are
JavaScript literals; here they are the dicts a page receives. Two of them show loginIds truncated
by their source: a client must reject those rather than store half an id.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flinks_desktop.core.connect_events import (
    account_ids_from_event,
    account_ids_from_url,
    login_id_from_event,
    login_id_from_url,
    parse_connect_event,
    web_origin,
)

LOGIN_ID = "8b35f6c8-e7b6-41d3-98f8-08d68b7f8d31"

# -- the published samples (connect_events_examples.txt) ----------------------------------------
DOCS_REDIRECT = {
    "step": "REDIRECT",
    "institution": "FlinksCapital",
    "url": f"https://example.com/thank-you?loginId={LOGIN_ID}&institution=FlinksCapital",
}
HELP_CENTRE_REDIRECT_TRUNCATED = {
    "step": "REDIRECT",
    "institution": "FlinksCapital",
    "url": "https://example.com?loginId=77d2967c-627a-440f-be3….1529418524&tag=TestTag&institution=FlinksCapital",
}
HELP_CENTRE_ERROR = {
    "requestId": "3eb951d4-6d73-461c-8cd7-7896a0b8992e",
    "flinksCode": "QUESTION_NOT_FOUND",
    "institution": "FlinksCapital",
}
CLOSE_SESSION = {"step": "COMPONENT_CLOSE_SESSION", "institution": "FlinksCapital"}
DEMO_REDIRECT_TRUNCATED = {
    "step": "REDIRECT",
    "institution": "FlinksCapital",
    "url": "https://flinks.io/contact/thank-you?loginId=4c1bb6…-45aa-49b6-08d69afaf016&institution=FlinksCapital",
}
DOCS_REDIRECT_URL = f"https://example.com/thank-you?loginId={LOGIN_ID}&institution=FlinksCapital"


@pytest.mark.parametrize(
    "sample", [DOCS_REDIRECT, HELP_CENTRE_REDIRECT_TRUNCATED, HELP_CENTRE_ERROR, CLOSE_SESSION, DEMO_REDIRECT_TRUNCATED]
)
def test_every_published_sample_is_an_event_as_object_and_as_json_text(sample):
    assert parse_connect_event(sample) == sample
    assert parse_connect_event(json.dumps(sample)) == sample  # stringify=true


def test_the_documented_redirect_gives_its_login_id_and_institution():
    assert login_id_from_event(parse_connect_event(DOCS_REDIRECT)) == (LOGIN_ID, "FlinksCapital")


@pytest.mark.parametrize("sample", [HELP_CENTRE_REDIRECT_TRUNCATED, DEMO_REDIRECT_TRUNCATED])
def test_a_truncated_login_id_is_rejected(sample):
    assert login_id_from_event(parse_connect_event(sample)) is None


@pytest.mark.parametrize("sample", [HELP_CENTRE_ERROR, CLOSE_SESSION])
def test_events_other_than_redirect_give_no_login_id(sample):
    assert login_id_from_event(parse_connect_event(sample)) is None


def test_the_documented_redirect_url_gives_its_login_id():
    login = login_id_from_url(DOCS_REDIRECT_URL, "https://example.com/thank-you")
    assert login == (LOGIN_ID, "FlinksCapital")


# -- REDIRECT: where the loginId and institution come from ---------------------------------------
def redirect(url: str | None = None, **fields) -> dict:
    event = {"step": "REDIRECT", **fields}
    if url is not None:
        event["url"] = url
    return event


def test_extra_query_parameters_such_as_tag_do_not_matter():
    url = f"https://example.com/?tag=TestTag&loginId={LOGIN_ID}&institution=FlinksCapital&x="
    assert login_id_from_event(redirect(url)) == (LOGIN_ID, "FlinksCapital")


def test_a_guid_that_is_not_an_rfc_4122_uuid_is_a_valid_login_id():
    login_id = "5e115eac-1209-4f19-641c-08d6d484e2fe"
    assert login_id_from_event(redirect(f"https://e.com/?loginId={login_id}")) == (login_id, "")


def test_the_login_id_is_lowercased():
    assert login_id_from_event(redirect(f"https://e.com/?loginId={LOGIN_ID.upper()}"))[0] == LOGIN_ID


def test_the_url_comes_first_then_the_login_id_field():
    other = "0b0a6a2e-1111-4222-8333-944455556666"
    assert login_id_from_event(redirect(f"https://e.com/?loginId={LOGIN_ID}", loginId=other))[0] == LOGIN_ID
    assert login_id_from_event(redirect("https://e.com/thank-you", loginId=other))[0] == other
    assert login_id_from_event(redirect(loginId=other))[0] == other
    # A url whose loginId is not a GUID does not hide a valid field.
    assert login_id_from_event(redirect("https://e.com/?loginId=4c1bb6…", loginId=other))[0] == other


def test_the_institution_comes_from_the_url_then_the_event_else_is_empty():
    url = f"https://e.com/?loginId={LOGIN_ID}"
    assert login_id_from_event(redirect(f"{url}&institution=Url", institution="Field")) == (LOGIN_ID, "Url")
    assert login_id_from_event(redirect(url, institution="Field")) == (LOGIN_ID, "Field")
    assert login_id_from_event(redirect(url)) == (LOGIN_ID, "")


def test_percent_encoded_query_values_are_decoded():
    url = f"https://e.com/?loginId={LOGIN_ID.replace('-', '%2D')}&institution=Flinks%20Capital"
    assert login_id_from_event(redirect(url)) == (LOGIN_ID, "Flinks Capital")


@pytest.mark.parametrize(
    "event",
    [
        redirect("https://e.com/thank-you"),
        redirect(f"https://e.com/?loginid={LOGIN_ID}"),  # the parameter's name is case-sensitive
        redirect("https://e.com/?loginId=not-a-guid", loginId="neither"),
        redirect(f"https://e.com/?loginId={LOGIN_ID}x"),
        redirect(f"https://e.com/?loginId={{{LOGIN_ID}}}"),
        redirect(f"http://[::1/?loginId={LOGIN_ID}"),  # a url that cannot be parsed, not an exception
        {"step": "APP_MOUNTED", "url": f"https://e.com/?loginId={LOGIN_ID}", "loginId": LOGIN_ID},
        {"flinksCode": "INVALID_LOGIN", "loginId": LOGIN_ID},
    ],
)
def test_no_login_id(event):
    assert login_id_from_event(event) is None


# -- accountId: one, or several (accountSelectorMultiple) -----------------------------------------
ACCOUNT = "da3a0abc-6ba6-5fff-a4c7-7088b44a8381"
OTHER_ACCOUNT = "bcf713b2-2668-54fd-8ce8-b45215aec1fc"


@pytest.mark.parametrize("account_id", [ACCOUNT, [ACCOUNT, OTHER_ACCOUNT], [ACCOUNT], [], None])
def test_account_id_is_text_or_a_list_of_texts(account_id):
    for step in ("ACCOUNT_SELECTED", "REDIRECT"):
        event = {"step": step, "institution": "FlinksCapital", "accountId": account_id}
        assert parse_connect_event(event) == event
        assert parse_connect_event(json.dumps(event)) == event  # stringify=true


def test_a_redirect_with_a_list_of_account_ids_still_gives_its_login_id():
    url = f"https://e.com/done?loginId={LOGIN_ID}&institution=FlinksCapital&accountId={ACCOUNT},{OTHER_ACCOUNT}"
    event = parse_connect_event({"step": "REDIRECT", "url": url, "accountId": [ACCOUNT, OTHER_ACCOUNT]})
    assert login_id_from_event(event) == (LOGIN_ID, "FlinksCapital")
    assert account_ids_from_event(event) == [ACCOUNT, OTHER_ACCOUNT]


@pytest.mark.parametrize(
    "event, ids",
    [
        # The url first: one id, several comma-separated (as Flinks documents), or the parameter repeated.
        (redirect(f"https://e.com/?loginId={LOGIN_ID}&accountId={ACCOUNT}"), [ACCOUNT]),
        (redirect(f"https://e.com/?loginId={LOGIN_ID}&accountId={ACCOUNT},{OTHER_ACCOUNT}"), [ACCOUNT, OTHER_ACCOUNT]),
        (redirect(f"https://e.com/?accountId={ACCOUNT}%2C{OTHER_ACCOUNT}"), [ACCOUNT, OTHER_ACCOUNT]),
        (redirect(f"https://e.com/?accountId={ACCOUNT}&accountId={OTHER_ACCOUNT}"), [ACCOUNT, OTHER_ACCOUNT]),
        (redirect(f"https://e.com/?accountId={ACCOUNT}", accountId=OTHER_ACCOUNT), [ACCOUNT]),
        # Then the field: a string (comma-separated too) or a list of strings.
        (redirect("https://e.com/thank-you", accountId=ACCOUNT), [ACCOUNT]),
        (redirect(accountId=[ACCOUNT, OTHER_ACCOUNT]), [ACCOUNT, OTHER_ACCOUNT]),
        (redirect(accountId=f"{ACCOUNT}, {OTHER_ACCOUNT}"), [ACCOUNT, OTHER_ACCOUNT]),
        (redirect("https://e.com/?accountId=4c1bb6…", accountId=[ACCOUNT]), [ACCOUNT]),  # a bad url value hides nothing
        # Kept as sent, once each, GUIDs only.
        (
            redirect(accountId=[ACCOUNT.upper(), ACCOUNT, "not-a-guid", "", OTHER_ACCOUNT]),
            [ACCOUNT.upper(), OTHER_ACCOUNT],
        ),
        # No account selection, or not a REDIRECT: none.
        (redirect(f"https://e.com/?loginId={LOGIN_ID}&institution=FlinksCapital"), []),
        (redirect(accountId=[]), []),
        (redirect(accountId=None), []),
        ({"step": "ACCOUNT_SELECTED", "accountId": ACCOUNT}, []),
        ({"flinksCode": "INVALID_LOGIN", "accountId": ACCOUNT}, []),
        ("REDIRECT", []),
    ],
)
def test_account_ids_from_a_redirect(event, ids):
    assert account_ids_from_event(event) == ids


def test_account_ids_from_the_redirect_navigation():
    landing = f"{REDIRECT_URL}?loginId={LOGIN_ID}&institution=FlinksCapital&accountId={ACCOUNT},{OTHER_ACCOUNT}&tag=t"
    assert login_id_from_url(landing, REDIRECT_URL) == (LOGIN_ID, "FlinksCapital")
    assert account_ids_from_url(landing, REDIRECT_URL) == [ACCOUNT, OTHER_ACCOUNT]
    assert account_ids_from_url(f"{REDIRECT_URL}?loginId={LOGIN_ID}", REDIRECT_URL) == []
    # Only a navigation to the redirect URL with a loginId hands accounts over.
    assert (
        account_ids_from_url(f"http://evil.localhost/connected?loginId={LOGIN_ID}&accountId={ACCOUNT}", REDIRECT_URL)
        == []
    )
    assert account_ids_from_url(f"{REDIRECT_URL}?accountId={ACCOUNT}", REDIRECT_URL) == []


# -- the redirect navigation -------------------------------------------------------------------
REDIRECT_URL = "http://flinks-desktop.localhost/connected"


@pytest.mark.parametrize(
    "url",
    [
        f"http://flinks-desktop.localhost/connected?loginId={LOGIN_ID}&institution=FlinksCapital",
        f"http://FLINKS-DESKTOP.localhost:80/connected/?institution=FlinksCapital&loginId={LOGIN_ID}#done",
        f"http://flinks-desktop.localhost/connected?tag=TestTag&loginId={LOGIN_ID}&institution=FlinksCapital",
    ],
)
def test_a_navigation_to_the_redirect_url_gives_its_login_id(url):
    assert login_id_from_url(url, REDIRECT_URL) == (LOGIN_ID, "FlinksCapital")


def test_the_redirect_url_may_carry_a_query_of_its_own():
    url = f"https://app.example/done?session=7&loginId={LOGIN_ID}&institution=FlinksCapital"
    assert login_id_from_url(url, "https://app.example/done?session=7") == (LOGIN_ID, "FlinksCapital")


@pytest.mark.parametrize(
    "url",
    [
        f"https://flinks-desktop.localhost/connected?loginId={LOGIN_ID}",  # another scheme
        f"http://flinks-desktop.localhost:8080/connected?loginId={LOGIN_ID}",  # another port
        f"http://evil.localhost/connected?loginId={LOGIN_ID}",  # another host
        f"http://flinks-desktop.localhost/connected-not?loginId={LOGIN_ID}",  # a path that only starts the same
        f"http://flinks-desktop.localhost/?loginId={LOGIN_ID}",
        f"http://flinks-desktop.localhost/connected?next=/x&loginid={LOGIN_ID}",
        "http://flinks-desktop.localhost/connected?loginId=77d2967c-627a-440f-be3….1529418524",
        "http://flinks-desktop.localhost/connected",
        f"javascript:alert('{REDIRECT_URL}?loginId={LOGIN_ID}')",
        "data:text/html,hello",
        "",
    ],
)
def test_other_navigations_give_no_login_id(url):
    assert login_id_from_url(url, REDIRECT_URL) is None


def test_no_redirect_url_no_login_id():
    assert login_id_from_url(f"{REDIRECT_URL}?loginId={LOGIN_ID}", "") is None


# -- what is not an event ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        None,
        42,
        1.5,
        True,
        [],
        ["step", "REDIRECT"],
        "",
        "not json",
        "null",
        "42",
        '"APP_MOUNTED"',
        "NaN",
        "[" * 100_000,  # deeper than the JSON parser goes
        {},
        {"institution": "FlinksCapital"},
        {"step": ""},
        {"step": None},
        {"flinksCode": None},
        {"step": 5},
        {"step": ["REDIRECT"]},
        {"flinksCode": {"code": "X"}},
        {"step": "REDIRECT", "url": 5},
        {"step": "REDIRECT", "loginId": ["x"]},
        {"flinksCode": "INVALID_LOGIN", "requestId": 3},
        {"step": "X", "institution": False},
        {"step": "REDIRECT", "accountId": 5},
        {"step": "REDIRECT", "accountId": [1]},
        {"step": "ACCOUNT_SELECTED", "accountId": ["a", None]},
        {"step": "REDIRECT", "accountId": {"Id": "a"}},
        {"step": "REDIRECT", "accountId": [["a"]]},
        {"step": "REDIRECT", "accountId": True},
        {1: "x", "step": "APP_MOUNTED"},
        json.dumps({"step": 5}),
    ],
)
def test_malformed_messages_are_none(data):
    assert parse_connect_event(data) is None


def test_unknown_fields_and_null_text_fields_are_kept():
    mfa = {
        "step": "COMPONENT_LOAD_MFA",
        "institution": "FlinksCapital",
        "mfaTypes": ["QuestionAndAnswer"],
        "future": {"nested": [1, 2]},
    }
    error = {"flinksCode": "RETRY_LATER", "requestId": None, "institution": "FlinksCapital"}
    assert parse_connect_event(mfa) == mfa
    assert parse_connect_event(error) == error


def test_the_event_is_a_copy():
    data = {"step": "APP_MOUNTED"}
    event = parse_connect_event(data)
    event["step"] = "changed"
    assert data == {"step": "APP_MOUNTED"}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)
EVENTISH = st.fixed_dictionaries(
    {},
    optional={
        "step": JSON_VALUES | st.sampled_from(["REDIRECT", "APP_MOUNTED"]),
        "flinksCode": JSON_VALUES,
        "url": JSON_VALUES | st.text().map(lambda s: f"https://e.com/?loginId={s}"),
        "loginId": JSON_VALUES,
        "institution": JSON_VALUES,
        "accountId": JSON_VALUES | st.lists(st.text(), max_size=3),
    },
)


@given(st.one_of(JSON_VALUES, EVENTISH, EVENTISH.map(json.dumps), st.text()))
def test_reading_never_raises(data):
    event = parse_connect_event(data)
    if event is not None:
        login_id_from_event(event)
        assert all(isinstance(i, str) for i in account_ids_from_event(event))
    if isinstance(data, str):
        login_id_from_url(data, REDIRECT_URL)
        account_ids_from_url(data, REDIRECT_URL)
        web_origin(data)


# -- origins -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url, origin",
    [
        ("http://127.0.0.1:8765/v2/?demo=true&redirectUrl=https://x.y/", "http://127.0.0.1:8765"),
        ("https://Toolbox-Iframe.private.fin.ag:443/v2/?demo=true", "https://toolbox-iframe.private.fin.ag"),
        ("HTTP://localhost:80", "http://localhost"),
        ("https://host:8443", "https://host:8443"),
        ("http://[::1]:9000/v2/", "http://[::1]:9000"),
        ("http://user:secret@host/", "http://host"),
        ("ftp://host/", None),
        ("data:text/html,x", None),
        ("about:blank", None),
        ("http://host:port/", None),
        ("http:///path", None),
        ("", None),
    ],
)
def test_web_origin_is_written_as_browsers_write_event_origin(url, origin):
    assert web_origin(url) == origin
