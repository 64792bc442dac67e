"""The offline Flinks Capital sandbox: the Flinks API and a Connect widget page, on loopback.

It stands alone (it imports nothing else of Flinks Desktop), so the app's offline environment, our
tests and other teams' Flinks clients can all use it with no network:

    from flinks_desktop.sandbox import SandboxServer
    with SandboxServer() as sandbox:
        print(sandbox.api_url, sandbox.connect_url)
"""

from flinks_desktop.sandbox.config import TOOLBOX_CUSTOMER_ID, SandboxConfig
from flinks_desktop.sandbox.server import RecordedRequest, SandboxServer, serve_forever
from flinks_desktop.sandbox.state import SandboxStateError

__all__ = [
    "TOOLBOX_CUSTOMER_ID",
    "RecordedRequest",
    "SandboxConfig",
    "SandboxServer",
    "SandboxStateError",
    "serve_forever",
]
