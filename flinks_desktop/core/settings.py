"""Environments: where the Flinks API and Flinks Connect of a set of connections live.

"Offline sandbox" is the built-in sandbox on a loopback port (the default on a fresh install),
"Flinks toolbox" the public Flinks sandbox, and a private instance is `{instance}-api.private.fin.ag`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

TOOLBOX_CUSTOMER_ID = "43387ca6-0391-4c82-857d-70d95f087ecb"

#: Where Connect is told to send the browser on success. `.invalid` never resolves (RFC 2606): the
#: Connect view intercepts the navigation and reads the loginId from it; nothing is ever fetched.
REDIRECT_URL = "https://flinks-desktop.invalid/connected"

#: Connect parameters every environment gets unless it says otherwise.
DEFAULT_CONNECT_PARAMETERS = {
    "innerRedirect": "true",
    "consentEnable": "true",
    "institutionFilterEnable": "true",
    "accountSelectorEnable": "false",
    "detailsAndStatementEnable": "true",
    "closeEnable": "true",
    "headerEnable": "false",
    "language": "en",
}


@dataclass(frozen=True)
class Environment:
    name: str
    kind: str  # "sandbox" (offline, built in), "toolbox" (public Flinks sandbox) or "private"
    api_url: str  # up to and including the customer id
    connect_base_url: str  # the Connect widget, without query
    connect_parameters: dict[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.kind == "private"

    def connect_url(self, authorize_token: str | None = None, redirect_url: str = REDIRECT_URL) -> str:
        parameters = {**DEFAULT_CONNECT_PARAMETERS, **self.connect_parameters, "redirectUrl": redirect_url}
        if self.kind != "private":
            parameters.setdefault("demo", "true")  # shows Flinks Capital
        if authorize_token:
            parameters["authorizeToken"] = authorize_token
        return f"{self.connect_base_url}?{urlencode(parameters)}"


def offline_sandbox(base_url: str) -> Environment:
    """The built-in sandbox, once it listens at `base_url` (http://127.0.0.1:PORT)."""
    return Environment(
        name="Offline sandbox",
        kind="sandbox",
        api_url=f"{base_url}/v3/{TOOLBOX_CUSTOMER_ID}",
        connect_base_url=f"{base_url}/v2/",
    )


def flinks_toolbox() -> Environment:
    return private_instance("toolbox", TOOLBOX_CUSTOMER_ID, name="Flinks toolbox", kind="toolbox")


def private_instance(instance: str, customer_id: str, *, name: str | None = None, kind: str = "private",
                     connect_parameters: dict[str, str] | None = None) -> Environment:
    return Environment(
        name=name or instance,
        kind=kind,
        api_url=f"https://{instance}-api.private.fin.ag/v3/{customer_id}",
        connect_base_url=f"https://{instance}-iframe.private.fin.ag/v2/",
        connect_parameters=dict(connect_parameters or {}),
    )
