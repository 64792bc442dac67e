"""`flinks-desktop`: the desktop app, and the same engine on the command line.

    flinks-desktop [--data-dir DIR]                                the desktop app
    flinks-desktop [--data-dir DIR] [--env NAME | --api-url URL] COMMAND ...

    login --institution I --username U [--password-stdin]      log in with the bank credentials
    sync (LOGIN_ID | --all) [--live] [--timeout SECONDS]         refresh (or add) a connection
    add LOGIN_ID... [--from-file FILE] [--timeout SECONDS]       open loginIds made elsewhere
    list [--format table|csv|json]                               the connections
    accounts LOGIN_ID [--format table|csv|json]
    transactions LOGIN_ID [--search TEXT] [--since DATE] [--limit N] [--format table|csv|json]
    statements LOGIN_ID [--save DIR [--overwrite]]
    activity [LOGIN_ID] [--limit N]
    check                                                        read the whole cache and check it
    delete-card LOGIN_ID [--local-only] [--yes]
    env list | add NAME --api-url URL [--connect-url URL] | use NAME | remove NAME
        | set-secret NAME (auth-secret | api-key) [--clear]      the environments, without the app
    sandbox [--host H] [--port P] ...                            the offline Flinks Capital sandbox
    --version

Exit status: 0 on success, 1 with one plain sentence on stderr for a failure (with the FlinksCode
when Flinks gave one), 2 for usage errors, 130 when interrupted (Ctrl-C). Read top to bottom: the
parser, the commands (one small function each, over `core`), then `main`. How they talk to a
terminal (prompts, progress, tables, bank text made safe to show) is `flinks_desktop.terminal`.

Decisions a reader should know:

- **Where.** `--data-dir` (else $FLINKS_DESKTOP_HOME, else the platform's place) holds the settings
  and the caches, as for the desktop app, which gets the same `--data-dir`. `--env NAME` picks an
  environment of the settings, `--api-url` any server that speaks the Flinks API (its own cache,
  see `settings.custom_api`); by default the settings' active one, the offline sandbox on a fresh
  install. The global options go before or after the command.
- **The offline sandbox runs in this process** for the commands that talk to Flinks (login, sync,
  delete-card), on a free port, with its logins in the data directory's state file, so loginIds
  persist from one command to the next. The reading commands only open the cache: they start
  nothing, ask Flinks nothing and never touch the keyring.
- **stdout is the result, stderr is the conversation.** Tables, CSV, JSON and result sentences go to
  stdout; prompts, progress and failures to stderr, so `> file` and pipes get only the result.
  Progress is one updating line, only when stderr is a terminal.
- **Tables are for people**: aligned, amounts right-aligned with thousands separators and the
  currency, account numbers masked, bank text with control characters replaced (a terminal would
  obey escape sequences), long descriptions shortened; times are local. loginIds are shown whole:
  a support agent needs them to act, and they are the user's own data on the user's own machine
  (logs, the audit and the activity keep masking them). CSV and JSON are for programs: exact
  (`core.export`), nothing masked, nothing shortened.
- **transactions** lists every match by default, newest first; `--limit N` keeps the newest N.
  `--since` takes a date or a number of days ("90d"). **activity** shows the newest 100 entries
  (`--limit`), oldest first, like a log: the latest is on the last line.
- **A LOGIN_ID taken from the cache may be shortened**, as git takes a commit: any unique start of
  it (4 hex digits or more; case and dashes do not matter) among the environment's cached logins.
  A start that fits several fails and lists them; one that fits none fails as an unknown loginId
  does. A whole loginId that is not cached is taken as it is where that makes sense: `sync` then
  adds it (`Sync.add`: Flinks is asked whether it knows it), `delete-card` deletes it at Flinks,
  `activity` shows what is left of a deleted one.
- **add** opens loginIds made elsewhere (a morning's tickets), from the command line and a file
  (one per line, or the loginId column of a CSV: `core.login_ids`), and prints one line per
  loginId and a count; exit 0 only when each one is here and refreshed. On a terminal the bank's
  questions are asked, one login at a time; otherwise nobody could answer, so 3 run at a time and
  a login whose bank asks one ends "needs MFA" (a live `sync` answers it later).
- **Secrets** come from FLINKS_DESKTOP_AUTH_SECRET and FLINKS_DESKTOP_API_KEY for the environment
  in use, else from the keyring (`settings.secrets_for`), never from the command line. `env
  set-secret` reads one without echo on a terminal, else from stdin's first line, into the system
  keyring; with no keyring it fails and names the variables (a secret kept in this process's
  memory would be gone when it ends, and the next command would get a 401). The password is asked
  on the terminal without echo, or read as the first line of stdin with `--password-stdin`; the
  bank's questions are shown verbatim on stderr and answered on stdin, a terminal or a pipe (one
  line per answer). The end of input at a question leaves it unanswered; Ctrl-C anywhere stops
  the command with exit status 130, with a sentence that says what became of the data: nothing
  saved, or, when Ctrl-C comes while a snapshot is being written, that it was already being saved
  and is kept (`core.sync.SyncCancelled`).
- **Waits are bounded.** Every call to Flinks has a deadline for its whole exchange (a server
  trickling its answer cannot hold a command), and data Flinks answers 202 for is polled for as
  long as the environment's "Wait for Flinks" setting says (30 minutes unless changed in the app's
  Settings); `--timeout SECONDS` on `sync` and `add` bounds both instead (the progress line says
  how long it has waited, and for how long it will).
- **env** changes the settings the desktop app uses too (`core.settings`): `env add` keeps a
  Flinks instance's URL as that private instance and any other server that speaks the Flinks API
  by its URLs. The environment in use cannot be removed; a removed one's secrets leave the
  keyring, its cache stays on disk.
- **delete-card** asks to type "delete" on a terminal; without a terminal it needs `--yes`. When
  Flinks no longer knows the card (INVALID_LOGIN), it says how to remove it here (`--local-only`);
  when the answer never came, that nobody knows whether Flinks deleted it, and how to find out.
- **A deletion's wipe finishes.** Every command opens the cache as a writer would, so a wipe that a
  deletion left pending (another window held the file) is finished by the next command.
- **statements --save** never overwrites a different file unless `--overwrite`; a file already
  there with the same bytes is left alone, so a second run is harmless.
- `FLINKS_DESKTOP_POLL_INTERVAL` (seconds) overrides how often a 202 is polled: 1 s for the
  offline sandbox, 10 s otherwise, as Flinks asks. `FLINKS_DESKTOP_DEBUG=1` logs to stderr and
  shows the traceback of an unexpected error instead of its one-sentence summary.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import inspect
import io
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, closing, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from flinks_desktop import __version__
from flinks_desktop.core import export, paths
from flinks_desktop.core.audit import describe
from flinks_desktop.core.environments import Environment, SettingsError, custom_api
from flinks_desktop.core.export import ExportConflict, ExportError
from flinks_desktop.core.flinks import FlinksError
from flinks_desktop.core.login_ids import login_id_in, normalise, read_login_ids
from flinks_desktop.core.redact import is_guid, mask_account_number
from flinks_desktop.core.secret_store import (
    API_KEY_VARIABLE,
    AUTH_SECRET_VARIABLE,
    SECRET_LABELS,
    SECRET_VARIABLES,
    SecretStore,
    SecretStoreError,
)
from flinks_desktop.core.settings import Settings
from flinks_desktop.core.store import (
    AccountRow,
    ActivityRow,
    CacheError,
    LoginRow,
    StatementRow,
    Store,
    TransactionRow,
)
from flinks_desktop.core.sync import NOTHING_SAVED, DeleteResult, SyncCancelled, SyncRefused, SyncResult
from flinks_desktop.core.workspace import Workspace, open_workspace
from flinks_desktop.terminal import (
    Col,
    Failure,
    Progress,
    TerminalMfa,
    confirm,
    count,
    file_size,
    fit,
    money,
    period,
    plain,
    print_table,
    read_password,
    read_secret,
    silence_stdout,
    stdin_is_terminal,
    when,
    width,
)

SANDBOX_SECRET_VARIABLES = ("FLINKS_SANDBOX_AUTH_KEY", "FLINKS_SANDBOX_API_KEY")
POLL_INTERVAL_VARIABLE = "FLINKS_DESKTOP_POLL_INTERVAL"
DEBUG_VARIABLE = "FLINKS_DESKTOP_DEBUG"
#: Flinks asks clients to poll a 202 every 10 seconds; the local sandbox answers at once.
FLINKS_POLL_INTERVAL = 10.0
SANDBOX_POLL_INTERVAL = 1.0
DEFAULT_ACTIVITY_LIMIT = 100
#: Table widths of an account's label ("title •••1234") and of a transaction's description.
ACCOUNT_WIDTH = 30
DESCRIPTION_WIDTH = 44
CONFIRMATION_WORD = "delete"
FORMATS = ("table", "csv", "json")
PROGRAM = "flinks-desktop"
#: A shortened loginId has at least this many hex digits (as git asks of a commit's).
SHORTEST_LOGIN_PREFIX = 4
#: Logins added at a time when nobody can answer the bank's questions (with a terminal: 1).
ADD_CONCURRENCY = 3
#: The exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130
#: What Ctrl-C says when nothing tells otherwise (a sync says what became of its data itself).
INTERRUPTED_SENTENCE = NOTHING_SAVED
#: The most --timeout accepts: a day.
LONGEST_TIMEOUT = 86_400

Format = Literal["table", "csv", "json"]
ExportRow = TransactionRow | AccountRow | LoginRow


# -- the parser ----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Manage Flinks bank connections; with no command, start the desktop app.",
        epilog="Exit status: 0 success, 1 failure (one sentence on stderr), 2 usage error.",
    )
    _add_global_options(parser, defaults=None)
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation (offline sandbox, Connect in QtWebEngine, a sync, a "
        "statement PDF), offscreen when there is no display; exit 0 if every part passed",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="start the desktop app up to its first painted window, then exit 0 "
        "(a start-up check; offscreen when there is no display)",
    )
    # The same options after the command; SUPPRESS keeps them from hiding those given before it.
    shared = argparse.ArgumentParser(add_help=False)
    _add_global_options(shared, defaults=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: object, summary: str, description: str = "") -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[shared], help=summary, description=description or summary)
        sub.set_defaults(handler=handler)
        return sub

    login = command(
        "login",
        log_in,
        "log in with a username and password, answering the bank's questions",
        "Log in to an institution with the bank credentials (a direct login), answer the bank's "
        "security questions, and fetch the new connection's data. Prints its loginId.",
    )
    login.add_argument("--institution", required=True, metavar="I", help='e.g. "FlinksCapital"')
    login.add_argument("--username", required=True, metavar="U")
    login.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of asking",
    )

    sync = command(
        "sync",
        sync_logins,
        "refresh a connection from Flinks (or add a loginId made elsewhere)",
        "Fetch a connection's accounts, transactions and statements again: what Flinks holds "
        "(default), or fresh from the bank with --live, which may ask security questions. "
        "A whole loginId this computer has not seen is added, if Flinks knows it.",
    )
    which = sync.add_mutually_exclusive_group(required=True)
    which.add_argument("login_id", nargs="?", type=_login_id, metavar="LOGIN_ID", help=_LOGIN_ID_HELP)
    which.add_argument("--all", action="store_true", help="every connection of the environment, one by one")
    sync.add_argument("--live", action="store_true", help="log in to the bank again instead of using Flinks' cache")
    _add_timeout_option(sync)

    add = command(
        "add",
        add_logins,
        "open loginIds made elsewhere (support tickets), many at once",
        "Ask Flinks for each loginId (a cached /Authorize) and add those it knows, with their "
        "data; one already here is refreshed. Prints one line per loginId and a count; exit "
        "status 0 only when every one is here and refreshed. On a terminal the bank's questions "
        'are asked; otherwise a login whose bank asks one ends "needs MFA".',
    )
    add.add_argument("login_ids", nargs="*", metavar="LOGIN_ID", help="whole loginIds (GUIDs)")
    add.add_argument(
        "--from-file",
        metavar="FILE",
        help="also the loginIds of FILE (- for standard input): one per line, or a CSV whose "
        "one column of loginIds is taken (a header row is skipped); blank lines and "
        "lines starting with # are ignored",
    )
    _add_timeout_option(add)

    listing = command("list", list_logins, "the connections, with their loginIds and status")
    _add_format_option(listing)

    accounts = command("accounts", show_accounts, "a connection's accounts and balances")
    accounts.add_argument("login_id", type=_login_id, metavar="LOGIN_ID", help=_LOGIN_ID_HELP)
    _add_format_option(accounts)

    transactions = command("transactions", show_transactions, "a connection's transactions, newest first")
    transactions.add_argument("login_id", type=_login_id, metavar="LOGIN_ID", help=_LOGIN_ID_HELP)
    transactions.add_argument("--search", metavar="TEXT", help="descriptions with every word of TEXT (as a prefix)")
    transactions.add_argument(
        "--since",
        type=_since,
        metavar="DATE",
        help="from this day on: YYYY-MM-DD, or a number of days back such as 90d",
    )
    transactions.add_argument("--limit", type=_positive, metavar="N", help="only the newest N")
    _add_format_option(transactions)

    statements = command("statements", show_statements, "a connection's statements; save them as files")
    statements.add_argument("login_id", type=_login_id, metavar="LOGIN_ID", help=_LOGIN_ID_HELP)
    statements.add_argument("--save", type=Path, metavar="DIR", help="write each statement into DIR")
    statements.add_argument(
        "--overwrite", action="store_true", help="with --save, replace files that exist with other content"
    )

    activity = command("activity", show_activity, "API calls and events, with the Flinks codes in plain words")
    activity.add_argument("login_id", nargs="?", type=_login_id, metavar="LOGIN_ID", help=_LOGIN_ID_HELP)
    activity.add_argument(
        "--limit",
        type=_positive,
        default=DEFAULT_ACTIVITY_LIMIT,
        metavar="N",
        help=f"the newest N entries (default: {DEFAULT_ACTIVITY_LIMIT})",
    )

    command(
        "check",
        check_cache,
        "read the whole cache and check that it is healthy",
        "Read every page of the environment's cache and check it: SQLite's integrity check, and the "
        "search index against the transactions. Opening the cache checks only its schema (and "
        "everything after a session that did not close it); this is the full check on demand. "
        "Exit status 0 when it is healthy.",
    )

    delete = command("delete-card", delete_card, "delete a card at Flinks and its data on this computer")
    delete.add_argument("login_id", type=_login_id, metavar="LOGIN_ID", help=_LOGIN_ID_HELP)
    delete.add_argument(
        "--local-only", action="store_true", help="only remove its data from this computer; Flinks keeps the card"
    )
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    _add_env_parser(commands)
    _add_sandbox_parser(commands)
    return parser


def _add_env_parser(commands: argparse._SubParsersAction) -> None:
    """`env ACTION`: the environments of the settings. They take --data-dir (before or after), not
    --env or --api-url: they name the environment they act on."""
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS, help="where settings and caches live")
    env = commands.add_parser(
        "env",
        parents=[data_dir],
        help="list, add, use and remove environments; set their secrets",
        description="The environments of the settings (the desktop app's too): where the Flinks API "
        "and Connect live, and their secrets in the system keyring. Secrets are never "
        f"given on the command line: they are asked, read from standard input, or taken "
        f"from {AUTH_SECRET_VARIABLE} and {API_KEY_VARIABLE} by each command.",
    )
    actions = env.add_subparsers(dest="env_action", metavar="ACTION", required=True)

    def action(name: str, handler: object, summary: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, parents=[data_dir], help=summary, description=summary)
        sub.set_defaults(handler=handler)
        return sub

    action("list", env_list, "the environments, which one is in use, and whether their secrets are set")
    add = action(
        "add", env_add, "add an environment: a Flinks instance, or any server that speaks the Flinks API, by its URL"
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "--api-url",
        dest="new_api_url",
        required=True,
        metavar="URL",
        help="its API up to and including the customer id: "
        "https://{instance}-api.private.fin.ag/v3/{customerId} for a Flinks instance, "
        "or any other, e.g. http://127.0.0.1:9000/v3/{customerId}",
    )
    add.add_argument(
        "--connect-url",
        dest="new_connect_url",
        metavar="URL",
        help="its Connect widget (default: the API's origin + /v2/; a Flinks instance's own)",
    )
    use = action("use", env_use, "work in this environment from now on (the desktop app too)")
    use.add_argument("name", metavar="NAME")
    remove = action(
        "remove", env_remove, "remove an environment and its secrets (not the one in use); its cache stays on disk"
    )
    remove.add_argument("name", metavar="NAME")
    secret = action(
        "set-secret",
        env_set_secret,
        "save a secret of an environment in the system keyring (asked, or read from standard input)",
    )
    secret.add_argument("name", metavar="NAME")
    secret.add_argument(
        "kind",
        choices=tuple(SECRET_LABELS),
        metavar="(auth-secret | api-key)",
        help="the authorize secret key, or the API key",
    )
    secret.add_argument("--clear", action="store_true", help="delete it from the keyring instead")


def _add_global_options(parser: argparse.ArgumentParser, *, defaults: object) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=defaults,
        help="where settings and caches live (default: $FLINKS_DESKTOP_HOME, else the usual place)",
    )
    parser.add_argument(
        "--env",
        metavar="NAME",
        default=defaults,
        help='an environment of the settings, e.g. "Flinks toolbox" (default: the active one)',
    )
    parser.add_argument(
        "--api-url",
        type=_api_url,
        metavar="URL",
        default=defaults,
        # An example short enough for the help's column: a longer URL would be cut mid-word.
        help="any Flinks API, up to and including the customer id, e.g. "
        "https://INSTANCE-api.private.fin.ag/v3/CUSTOMER_ID or the sandbox's http://127.0.0.1:PORT/v3/CUSTOMER_ID",
    )


def _add_timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give up on Flinks after this long: on any one call, and on data Flinks is "
        "still preparing (default: the environment's wait setting, 30 minutes "
        "unless changed)",
    )


def _add_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table for people (default); csv or json, exact, for programs",
    )


def _add_sandbox_parser(commands: argparse._SubParsersAction) -> None:
    sandbox = commands.add_parser(
        "sandbox",
        help="serve the offline Flinks Capital sandbox (API and Connect page) on loopback",
        description=(
            "Serve the offline Flinks Capital sandbox: the Flinks API at "
            "/v3/{customerId}/BankingServices/ and the Connect widget at /v2/. "
            f"Secrets are read from the environment ({', '.join(SANDBOX_SECRET_VARIABLES)}), "
            "never from the command line; without them the sandbox checks no header."
        ),
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8765, help="port to listen on (default: 8765)")
    sandbox.add_argument(
        "--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD", help="the last day of the dataset (default: today)"
    )
    sandbox.add_argument(
        "--state-file",
        metavar="FILE",
        help="keep logins and deleted cards in this JSON file across restarts "
        "(sandboxes in other processes on the same file share them)",
    )
    sandbox.add_argument(
        "--pending-polls",
        type=int,
        default=1,
        metavar="N",
        help="202 answers of the Async endpoint before detail data is ready (default: 1)",
    )
    sandbox.add_argument(
        "--mfa-rounds",
        type=int,
        default=1,
        choices=(1, 2, 3),
        help="security questions asked one after the other (default: 1)",
    )
    sandbox.add_argument(
        "--cached-mfa",
        action="store_true",
        help="a cached /Authorize of a user with MFA (Greatday) answers 203 with a "
        "security question, as real Flinks sometimes does",
    )
    sandbox.add_argument(
        "--bank-delay",
        type=float,
        default=0.8,
        metavar="SECONDS",
        help="how long the fake bank takes to check an answer (default: 0.8)",
    )


_LOGIN_ID_HELP = "a loginId, or its first 4 characters or more (see list)"
_HEX_AND_DASHES = re.compile(r"[0-9A-Fa-f-]+")


def _login_id(text: str) -> str:
    """A loginId or the start of one (resolved against the cache by `Context.resolve_login`), as
    pasted from a ticket: quotes, typographic dashes and `loginId=` around it are fine, as for `add`."""
    whole = login_id_in(text)
    if whole is not None:
        return whole
    value = normalise(text)  # as typed otherwise: a server may answer loginIds in either case
    digits = value.replace("-", "")
    if not (_HEX_AND_DASHES.fullmatch(value) and SHORTEST_LOGIN_PREFIX <= len(digits) <= 32):
        shown = text if len(text) <= 80 else f"{text[:40]}…{text[-20:]}"  # a paste of a page: its ends
        raise argparse.ArgumentTypeError(
            f'"{shown}" is not a loginId: it is a GUID such as b0debb48-f9f1-46c6-80a4-08d7dd88d478, '
            f"or its first {SHORTEST_LOGIN_PREFIX} characters or more (see {PROGRAM} list)"
        )
    if len(digits) == 32 and not is_guid(value):  # whole, with its dashes elsewhere or none
        value = "-".join((digits[:8], digits[8:12], digits[12:16], digits[16:20], digits[20:]))
    return value


def _api_url(text: str) -> Environment:
    try:
        return custom_api(text)
    except SettingsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _since(text: str) -> date:
    days = re.fullmatch(r"(\d{1,5})d", text.strip())
    if days:
        return date.today() - timedelta(days=int(days[1]))
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'"{text}" is not a date: use YYYY-MM-DD or a number of days such as 90d'
        ) from None


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= LONGEST_TIMEOUT:
        raise argparse.ArgumentTypeError(f'"{text}" is not a number of seconds between 0 and {LONGEST_TIMEOUT:,}')
    return seconds


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f'"{text}" is not a whole number of at least 1')
    return number


# -- where the commands work ---------------------------------------------------------------------------


@dataclass
class Context:
    """The data directory, its settings, and the environment a command works in."""

    settings: Settings
    environment: Environment

    @classmethod
    def open(cls, args: argparse.Namespace) -> Context:
        settings = Settings.load(paths.data_dir(args.data_dir))
        if args.api_url is not None:
            environment = args.api_url
        elif args.env is not None:
            environment = _environment_named(settings, args.env)
        else:
            environment = settings.active
        return cls(settings, environment)

    @property
    def is_offline_sandbox(self) -> bool:
        return self.environment.slug == paths.SANDBOX_SLUG

    @contextmanager
    def cache(self) -> Iterator[Store]:
        """The environment's cache, for reading on this thread. Opened as a writer opens it: a wipe
        a deletion left pending is finished first (a command has no GUI thread to keep free)."""
        with Store.open(self.settings.cache_path(self.environment), finish_wipes=True) as store:
            yield store

    @asynccontextmanager
    async def workspace(self, *, timeout: float | None = None) -> AsyncIterator[Workspace]:
        """The environment ready to talk to Flinks: the offline sandbox started if it is the one,
        a client with the keyring's secrets, the sync engine; all of it closed afterwards."""
        sandbox = None
        environment = self.environment
        try:
            if self.is_offline_sandbox:
                from flinks_desktop.sandbox import SandboxConfig, SandboxServer, SandboxStateError

                state_file = str(self.settings.sandbox_state_file())  # loginIds outlive the command
                try:
                    sandbox = SandboxServer(SandboxConfig(state_file=state_file)).start()
                except SandboxStateError as error:  # a damaged or unreadable state file: said
                    raise Failure(
                        f"The offline sandbox could not start: {error}. Fix that file, or move it "
                        "elsewhere (the sandbox then forgets the loginIds it made), and run again."
                    ) from None
                environment = environment.running_at(sandbox.base_url)
            secrets = SecretStore()
            from_variables = all(os.environ.get(name, "").strip() for name in SECRET_VARIABLES.values())
            if environment.is_production and not secrets.status.available and not from_variables:
                warning = _no_keyring(f"no secret of “{environment.name}” is kept on this computer")
                print(f"{PROGRAM}: {warning}", file=sys.stderr)
            workspace = open_workspace(
                self.settings, secrets, environment, poll_interval=self._poll_interval(), timeout=timeout
            )
            try:
                yield workspace
            finally:
                await workspace.aclose()
        finally:
            if sandbox is not None:
                sandbox.stop()

    def _poll_interval(self) -> float:
        text = os.environ.get(POLL_INTERVAL_VARIABLE)
        if not text:
            return SANDBOX_POLL_INTERVAL if self.is_offline_sandbox else FLINKS_POLL_INTERVAL
        try:
            interval = float(text)
        except ValueError:
            interval = -1.0
        if not 0 < interval <= 600:
            raise Failure(f'{POLL_INTERVAL_VARIABLE} is "{text}": give a number of seconds between 0 and 600.')
        return interval

    def cached_login(self, store: Store, login_id: str) -> LoginRow:
        """The cached login `login_id` is, whole or its start; Failure when none or several are."""
        _, login = self.resolve_login(store, login_id)
        assert login is not None
        return login

    def resolve_login(self, store: Store, text: str, *, whole_if_unknown: bool = False) -> tuple[str, LoginRow | None]:
        """The loginId `text` means and its cached login: the one cached login whose id starts with
        `text` (case and dashes aside). With `whole_if_unknown`, a whole loginId that is not cached
        is `(text, None)`. Raises Failure when several start with it (listing them) or none does."""
        key = text.replace("-", "").casefold()
        matches = [login for login in store.logins() if login.id.replace("-", "").casefold().startswith(key)]
        exact = [login for login in matches if len(login.id.replace("-", "")) == len(key)]
        if len(matches) == 1 or len(exact) == 1:
            login = exact[0] if exact else matches[0]
            return login.id, login
        if matches:
            listing = io.StringIO()
            print_table(
                [Col("LOGIN ID"), Col("INSTITUTION"), Col("USERNAME")],
                [[login.id, login.institution, login.username or ""] for login in matches],
                out=listing,
            )
            raise Failure(
                f"{len(matches)} connections in “{self.environment.name}” start with {text}: give more of the loginId.",
                ["  " + line for line in listing.getvalue().splitlines()],
            )
        if whole_if_unknown and is_guid(text):
            return text, None
        raise Failure(
            f"There is no connection {text} in “{self.environment.name}”. See the loginIds with: {PROGRAM} list"
        )

    def login_hint(self) -> str:
        if self.is_offline_sandbox:
            return f"{PROGRAM} login --institution FlinksCapital --username Greatday (password Everyday)"
        return f"{PROGRAM} login --institution INSTITUTION --username USERNAME"


def _no_keyring(consequence: str) -> str:
    """The sentence for a computer with no system keyring: `consequence`, and the variables to use."""
    return (
        f"There is no system keyring on this computer, so {consequence}: give the secrets in "
        f"{AUTH_SECRET_VARIABLE} and {API_KEY_VARIABLE} for each command instead."
    )


def _environment_named(settings: Settings, name: str) -> Environment:
    try:
        return settings.environment(name)
    except SettingsError:
        names = ", ".join(f"“{environment.name}”" for environment in settings.environments())
        raise Failure(f"There is no environment named “{name}”: choose one of {names}.") from None


# -- the commands ----------------------------------------------------------------------------------


async def log_in(context: Context, args: argparse.Namespace) -> int:
    with context.cache():  # a cache that cannot be used says so before the bank is asked anything
        pass
    password = read_password(args.username, args.institution, from_stdin=args.password_stdin)
    async with context.workspace() as workspace, Progress(sys.stderr) as progress:
        result = await workspace.sync.login(
            args.institution, args.username, password, mfa=TerminalMfa(progress), progress=progress
        )
    if result.login_id is not None:  # even if the sync then failed: the login is cached, with its error
        print(f"Connected {args.username} at {args.institution}.")
        print(f"Login ID: {result.login_id}")
    return _report(result)


async def sync_logins(context: Context, args: argparse.Namespace) -> int:
    if args.all:
        return await _sync_every_login(context, args)
    with context.cache() as store:  # before starting anything
        login_id, login = context.resolve_login(store, args.login_id, whole_if_unknown=True)
    async with context.workspace(timeout=args.timeout) as workspace, Progress(sys.stderr) as progress:
        mfa = TerminalMfa(progress)
        if login is None:  # made elsewhere: added if Flinks knows it, then refreshed live if asked
            result = await workspace.sync.add(login_id, mfa=mfa, progress=progress)
            if result.ok:
                progress.clear()
                print(f"Added {login_id} to “{context.environment.name}”.")
                if args.live:
                    result = await workspace.sync.refresh(login_id, live=True, mfa=mfa, progress=progress)
        else:
            result = await workspace.sync.refresh(login_id, live=args.live, mfa=mfa, progress=progress)
    return _report(result)


async def add_logins(context: Context, args: argparse.Namespace) -> int:
    wanted = _login_ids_to_add(args)
    if not wanted.login_ids and not wanted.rejected:
        raise Failure(f"There is no loginId in {_file_name(args.from_file)}: nothing was added.")
    with context.cache() as store:  # a loginId already here keeps its spelling (Flinks' own)
        cached = {login.id.casefold(): login.id for login in store.logins()}
    login_ids = [cached.get(login_id.casefold(), login_id) for login_id in wanted.login_ids]
    # Somebody at a terminal answers the bank's questions, one login at a time; otherwise nobody
    # can, so several run at once and a login whose bank asks one ends "needs MFA".
    interactive = stdin_is_terminal() and args.from_file != "-"
    results = []
    if login_ids:
        async with (
            context.workspace(timeout=args.timeout) as workspace,
            Progress(sys.stderr, name_logins=True) as progress,
        ):
            results = await workspace.sync.add_many(
                login_ids,
                mfa=TerminalMfa(progress) if interactive else None,
                concurrency=1 if interactive else ADD_CONCURRENCY,
                progress=progress,
            )
    rows, tally = [], {}
    for result in results:
        here = result.ok and result.login_id is not None and result.login_id.casefold() in cached
        outcome = "already here (refreshed)" if here else ADD_OUTCOMES.get(result.outcome, result.outcome)
        tally[outcome] = tally.get(outcome, 0) + 1
        rows.append([result.login_id or "", outcome, _sentence(result)])
    for text, where in wanted.rejected:
        tally["not a loginId"] = tally.get("not a loginId", 0) + 1
        rows.append([fit(plain(text), 36), "not a loginId", f"{where}: nothing was done with it."])
    print_table([Col("LOGIN ID"), Col("RESULT"), Col("WHAT HAPPENED")], rows)
    total = len(rows)
    repeated = f"; {count(wanted.repeated, 'repeated loginId')} taken once" if wanted.repeated else ""
    parts = ", ".join(f"{number} {outcome}" for outcome, number in tally.items())
    print(f"\n{total:,} given: {parts}{repeated}.")
    failed = total - sum(1 for result in results if result.ok)
    if failed:
        return _fail(f"{failed:,} of {total:,} {'was' if failed == 1 else 'were'} not added; see above why.")
    return 0


#: How `add` names each outcome of `Sync.add`.
ADD_OUTCOMES = {
    "ok": "added",
    "unknown": "unknown to Flinks",
    "needs_mfa": "needs MFA",
    "error": "error",
    "skipped": "skipped",
}


@dataclass
class _Wanted:
    #: Whole loginIds (lowercased), in the order given, once each.
    login_ids: list[str]
    #: What is not a loginId: (the text, where it was).
    rejected: list[tuple[str, str]]
    #: loginIds given again (taken once).
    repeated: int


def _login_ids_to_add(args: argparse.Namespace) -> _Wanted:
    """The loginIds of the command line, then those of --from-file."""
    wanted = _Wanted([], [], 0)
    seen: set[str] = set()

    def take(login_id: str) -> None:
        if login_id in seen:
            wanted.repeated += 1
        else:
            seen.add(login_id)
            wanted.login_ids.append(login_id)

    for text in args.login_ids:
        login_id = login_id_in(text)
        if login_id is None:
            wanted.rejected.append((text, "on the command line"))
        else:
            take(login_id)
    if args.from_file is not None:
        found = read_login_ids(_read_text(args.from_file))
        for login_id in found.login_ids:
            take(login_id)
        wanted.repeated += found.repeated
        name = _file_name(args.from_file)
        wanted.rejected.extend((text, f"line {number} of {name}") for number, text in found.rejected)
    return wanted


def _read_text(file: str) -> str:
    """The text of FILE (UTF-8, a byte order mark dropped), or of standard input for "-"."""
    if file == "-":
        return sys.stdin.read().lstrip("\ufeff")
    try:
        return Path(file).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise Failure(f"The file {file} cannot be read ({error.strerror or error}): nothing was added.") from None
    except UnicodeDecodeError:
        raise Failure(f"The file {file} is not UTF-8 text: nothing was added.") from None


def _file_name(file: str | None) -> str:
    return "standard input" if file == "-" else str(file)


async def _sync_every_login(context: Context, args: argparse.Namespace) -> int:
    """One by one (concurrency 1): the bank's questions of two logins must not interleave."""
    async with context.workspace(timeout=args.timeout) as workspace, Progress(sys.stderr, name_logins=True) as progress:
        results = await workspace.sync.refresh_all(
            live=args.live, mfa=TerminalMfa(progress), concurrency=1, progress=progress
        )
    if not results:
        print(f"There are no connections to refresh in “{context.environment.name}”.")
        return 0
    for result in results:
        print(f"{result.login_id}  {result.outcome:<9}  {_sentence(result)}")
    failed = sum(1 for result in results if not result.ok)
    if failed:
        return _fail(f"{failed} of {len(results)} connections were not refreshed; see above why.")
    return PARTLY_SAVED if any(_partly(result) for result in results) else 0


def list_logins(context: Context, args: argparse.Namespace) -> int:
    with context.cache() as store:
        logins = store.logins()
    if args.format != "table":
        return _write_export(logins, LoginRow, args.format)
    if not logins:
        print(f"No connections yet in “{context.environment.name}”. Connect one with: {context.login_hint()}")
        return 0
    rows, notes = [], {}
    for login in logins:
        status = login.status.replace("_", " ")
        if login.error_code:
            status += f": {login.error_code}"
        rows.append(
            [login.id, login.institution, login.username or "", status, when(login.status_at), when(login.synced_at)]
        )
        if login.status != "ok" and login.error_message:
            notes[len(rows) - 1] = login.error_message
    print_table(
        [Col("LOGIN ID"), Col("INSTITUTION"), Col("USERNAME"), Col("STATUS"), Col("SINCE"), Col("LAST SYNC")],
        rows,
        notes=notes,
    )
    return 0


def show_accounts(context: Context, args: argparse.Namespace) -> int:
    with context.cache() as store:
        login = context.cached_login(store, args.login_id)
        accounts = store.accounts(login.id)
    if args.format != "table":
        return _write_export(accounts, AccountRow, args.format)
    print(_caption(login))
    if not accounts:
        print(f"No accounts cached for this connection yet. Fetch them with: {PROGRAM} sync {login.id}")
        return 0
    rows = [
        [
            account.title or "",
            _account_number(account),
            account.type or "",
            account.currency or "",
            money(account.balance.current, account.currency),
            money(account.balance.available, account.currency),
            f"missing since {when(account.missing_since)}" if account.missing_since else "",
        ]
        for account in accounts
    ]
    print_table(
        [
            Col("ACCOUNT", width=40),
            Col("NUMBER"),
            Col("TYPE"),
            Col("CURRENCY"),
            Col("CURRENT", right=True),
            Col("AVAILABLE", right=True),
            Col(""),
        ],
        rows,
    )
    return 0


def show_transactions(context: Context, args: argparse.Namespace) -> int:
    filters = {"search": args.search, "since": args.since}
    with context.cache() as store:
        login = context.cached_login(store, args.login_id)
        if args.format != "table":
            # Every match, streamed from the cache in batches: a million never sit in memory together.
            accounts = export.accounts_by_id(store.accounts(login.id))
            if args.limit:
                limited = store.transactions(login.id, limit=args.limit, **filters)
                return _write_export(limited, TransactionRow, args.format, accounts=accounts)
            # Closed before the store is, however the writing ends (a reader that left: `| head`).
            with closing(store.iter_transactions(login.id, **filters)) as streamed:
                return _write_export(streamed, TransactionRow, args.format, accounts=accounts)
        transactions = store.transactions(login.id, limit=args.limit, **filters)
        total = store.count_transactions(login.id, **filters) if args.limit else len(transactions)
        accounts = {account.id: account for account in store.accounts(login.id)}
    print(_caption(login))
    if not transactions:
        filtered = args.search or args.since
        print("No transactions match." if filtered else "No transactions cached for this connection.")
        return 0
    rows = []
    for transaction in transactions:
        account = accounts.get(transaction.account_id)
        currency = account.currency if account is not None else None
        rows.append(
            [
                transaction.date.isoformat(),
                _account_label(account),
                transaction.description or "",
                money(_signed(transaction), currency),
                money(transaction.balance, currency),
            ]
        )
    print_table(
        [
            Col("DATE"),
            Col("ACCOUNT"),
            Col("DESCRIPTION", width=DESCRIPTION_WIDTH),
            Col("AMOUNT", right=True),
            Col("BALANCE", right=True),
        ],
        rows,
    )
    shown = f"{len(transactions):,} of {total:,}" if total > len(transactions) else f"{total:,}"
    matching = f" matching “{args.search}”" if args.search else ""
    print(f"\n{shown} transaction{'' if total == 1 else 's'}{matching}.")
    return 0


def show_statements(context: Context, args: argparse.Namespace) -> int:
    with context.cache() as store:
        login = context.cached_login(store, args.login_id)
        statements = store.statements(login.id)
        by_number = {account.account_number: account for account in store.accounts(login.id)}
        if args.save is not None:
            return _save_statements(store, login, statements, by_number, args.save, args.overwrite)
    print(_caption(login))
    if not statements:
        print(f"No statements cached for this connection. Fetch them with: {PROGRAM} sync {login.id}")
        return 0
    # Flinks sends no period with a statement: the column shows only when one is known.
    periods = any(statement.period_end for statement in statements)
    rows = [
        [
            _account_label(by_number.get(statement.account_number), statement.account_number),
            *([period(statement.period_start, statement.period_end)] if periods else []),
            when(statement.fetched_at),
            statement.file_type or "",
            file_size(statement.size),
            statement.unique_id,
        ]
        for statement in statements
    ]
    print_table(
        [
            Col("ACCOUNT"),
            *([Col("PERIOD")] if periods else []),
            Col("FETCHED"),
            Col("TYPE"),
            Col("SIZE", right=True),
            Col("ID"),
        ],
        rows,
    )
    print(f"\nSave them as files with: {PROGRAM} statements {login.id} --save DIR")
    return 0


def _save_statements(
    store: Store,
    login: LoginRow,
    statements: Sequence[StatementRow],
    by_number: Mapping[str | None, AccountRow],
    folder: Path,
    overwrite: bool,
) -> int:
    if not statements:
        raise Failure(
            f"There are no statements cached for {login.id}: nothing was saved. "
            f"Fetch them with: {PROGRAM} sync {login.id}"
        )
    refused: list[ExportConflict] = []
    for statement in statements:
        content = store.statement_pdf(login.id, statement.unique_id)
        if content is None:  # deleted meanwhile by another window
            continue
        path = folder / export.statement_file_name(statement, by_number.get(statement.account_number))
        try:
            saved = export.save_file(path, content, overwrite=overwrite)
        except ExportConflict as conflict:
            refused.append(conflict)
            continue
        print(f"{saved.value:<9}  {path}")
    if refused:
        others = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise Failure(f"{refused[0]}{others} Add --overwrite to replace what is there.")
    return 0


def check_cache(context: Context, args: argparse.Namespace) -> int:
    with context.cache() as store:
        result = store.check()
    print(f"The cache {store.path} is healthy: {result.size / 1_000_000:,.1f} MB checked, nothing wrong found.")
    return 0


def show_activity(context: Context, args: argparse.Namespace) -> int:
    with context.cache() as store:
        login_id = None
        if args.login_id is not None:  # a deleted card's loginId is no longer cached: taken whole
            login_id, _ = context.resolve_login(store, args.login_id, whole_if_unknown=True)
        entries = store.activity(login_id, limit=args.limit)
    if not entries:
        which = f"for {login_id}" if login_id else f"in “{context.environment.name}”"
        print(f"No activity recorded {which}.")
        return 0
    rows = [_activity_row(entry) for entry in reversed(entries)]  # oldest first: the latest last
    print_table([Col("TIME"), Col("SOURCE"), Col("EVENT"), Col("RESULT"), Col("LOGIN"), Col("MEANING")], rows)
    return 0


async def delete_card(context: Context, args: argparse.Namespace) -> int:
    with context.cache() as store:  # closed before the purge: it must have the file to itself
        login_id, login = context.resolve_login(store, args.login_id, whole_if_unknown=True)
    if login is None and args.local_only:
        raise Failure(f"There is no connection {login_id} on this computer: there is nothing to remove.")
    if not args.yes:
        _confirm_deletion(login_id, login, local_only=args.local_only)
    async with context.workspace() as workspace:
        result = await workspace.sync.delete_card(login_id, local_only=args.local_only, by=_who())
    gone_at_flinks = getattr(result.error, "flinks_code", None) == "INVALID_LOGIN"
    if not result.ok and gone_at_flinks and login is not None:  # what is left is here: it can be removed
        return _fail(
            _sentence(result),
            [
                f"Flinks no longer knows this card. Remove it from this computer with: "
                f"{PROGRAM} delete-card {login_id} --local-only"
            ],
        )
    if _report(result):
        return 1
    if result.purged is not None and result.purged.login:
        purged = result.purged
        print(
            f"Removed {count(purged.accounts, 'account')}, {count(purged.transactions, 'transaction')} "
            f"and {count(purged.statements, 'statement')} from this computer."
        )
    return 0


# -- env: the environments ----------------------------------------------------------------------------


def _kind_label(environment: Environment) -> str:
    """What `env list` calls the environment's kind."""
    if environment.kind != "private":
        return "built in"
    return "private instance" if environment.custom_api_url is None else "API by its URL"


def env_list(context: Context, args: argparse.Namespace) -> int:
    settings = context.settings
    active = settings.active
    secrets = SecretStore()
    rows, unreadable = [], None
    for environment in settings.environments():
        if environment.kind == "sandbox":
            where, states = "on this computer (started by each command)", ["not needed", "not needed"]
        else:
            where, states = environment.api_url, []
            for kind, variable in SECRET_VARIABLES.items():
                if environment.slug == active.slug and os.environ.get(variable, "").strip():
                    states.append(f"from ${variable}")
                elif not secrets.status.available:
                    states.append("no keyring")
                else:
                    try:
                        states.append("set" if secrets.is_set(environment, kind) else "not set")
                    except SecretStoreError as error:
                        states.append("unknown")
                        unreadable = str(error)
        marker = "*" if environment.slug == active.slug else " "
        rows.append([f"{marker} {environment.name}", _kind_label(environment), where, *states])
    print_table([Col("  NAME"), Col("KIND"), Col("API URL"), Col("AUTH SECRET"), Col("API KEY")], rows)
    print(f"\n* in use. Change it with: {PROGRAM} env use NAME")
    if not secrets.status.available:
        print(_no_keyring("secrets cannot be saved"))
    if unreadable:
        print(f"{PROGRAM}: {plain(unreadable)}", file=sys.stderr)
    return 0


def env_add(context: Context, args: argparse.Namespace) -> int:
    settings = context.settings
    environment = settings.add_from_url(args.name, args.new_api_url, args.new_connect_url)
    settings.save()
    print(
        f"Added “{environment.name}” ({_kind_label(environment)}): API {environment.api_url}, "
        f"Connect {environment.connect_base_url}"
    )
    print(f"Work in it with: {PROGRAM} env use “{environment.name}” (or --env “{environment.name}”).")
    print(
        f"Set its secrets, if it needs them, with: {PROGRAM} env set-secret “{environment.name}” "
        "auth-secret (and api-key)"
    )
    return 0


def env_use(context: Context, args: argparse.Namespace) -> int:
    settings = context.settings
    environment = settings.set_active(_environment_named(settings, args.name).name)
    settings.save()
    print(f"Now working in “{environment.name}”.")
    return 0


def env_remove(context: Context, args: argparse.Namespace) -> int:
    settings = context.settings
    removed = settings.remove_private(_environment_named(settings, args.name).name)
    settings.save()
    secrets = SecretStore()
    try:
        secrets.forget(removed)
    except SecretStoreError as error:
        raise Failure(
            f"“{removed.name}” was removed, but its secrets are still in the system keyring. {error}"
        ) from None
    kept = "" if not secrets.status.available else ", and its secrets from the system keyring"
    print(f"Removed “{removed.name}”{kept}.")
    folder = settings.data_dir / "environments" / removed.slug
    if folder.exists():
        print(f"Its cache stays in {folder}: delete that folder to remove its data from this computer.")
    return 0


def env_set_secret(context: Context, args: argparse.Namespace) -> int:
    environment = _environment_named(context.settings, args.name)
    label = SECRET_LABELS[args.kind]
    if environment.kind == "sandbox":
        raise Failure(f"“{environment.name}” needs no {label}: it runs on this computer and checks none.")
    secrets = SecretStore()
    if not secrets.status.available:  # kept in this process only, it would be gone in a moment
        raise Failure(_no_keyring(f"the {label} of “{environment.name}” cannot be saved"))
    if args.clear:
        secrets.delete(environment, args.kind)
        print(f"The {label} of “{environment.name}” is cleared from the system keyring.")
        return 0
    value = read_secret(f"{label[:1].upper()}{label[1:]} of “{environment.name}” (not shown): ")
    secrets.set(environment, args.kind, value)
    print(f"The {label} of “{environment.name}” is saved in the system keyring.")
    return 0


def run_sandbox(args: argparse.Namespace) -> int:
    from flinks_desktop.sandbox import SandboxConfig, SandboxStateError, serve_forever

    config = SandboxConfig(
        auth_key=os.environ.get("FLINKS_SANDBOX_AUTH_KEY") or None,
        api_key=os.environ.get("FLINKS_SANDBOX_API_KEY") or None,
        as_of=args.as_of,
        state_file=args.state_file,
        pending_polls=args.pending_polls,
        mfa_rounds=args.mfa_rounds,
        cached_mfa=args.cached_mfa,
        bank_delay=args.bank_delay,
    )
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Flinks Capital offline sandbox on http://{host}:{args.port}/", flush=True)
    print(f"  API:     http://{host}:{args.port}/v3/{config.customer_id}/BankingServices/", flush=True)
    print(f"  Connect: http://{host}:{args.port}/v2/?demo=true", flush=True)
    try:
        serve_forever(config, host=args.host, port=args.port)
    except SandboxStateError as exc:  # its --state-file: one sentence, not a traceback
        print(f"flinks-desktop: {exc}.", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"flinks-desktop: the sandbox cannot listen on {host}:{args.port}: {exc.strerror or exc}.", file=sys.stderr
        )
        return 1
    except KeyboardInterrupt:
        pass
    return 0


# -- what the commands share ------------------------------------------------------------------------


#: The exit status of a sync that saved the data but not all of it: the statements could not be
#: downloaded (the sentence says why). A script can tell it from a whole success.
PARTLY_SAVED = 3


def _report(result: SyncResult | DeleteResult) -> int:
    """The result's sentence: on stdout when it went well (0, or `PARTLY_SAVED`), else on stderr (1)."""
    if not result.ok:
        return _fail(_sentence(result))
    print(result.message)
    return PARTLY_SAVED if _partly(result) else 0


def _partly(result: SyncResult | DeleteResult) -> bool:
    return isinstance(result, SyncResult) and result.ok and result.statements_error is not None


def _sentence(result: SyncResult | DeleteResult) -> str:
    """The result's sentence, with the FlinksCode of its failure when Flinks gave one."""
    code = result.error.flinks_code if isinstance(result.error, FlinksError) else None
    return f"{result.message} ({code})" if code and code not in result.message else result.message


def _write_export(
    rows: Iterable[ExportRow], kind: type[ExportRow], format_: Format, *, accounts: export.Accounts | None = None
) -> int:
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        out.reconfigure(encoding="utf-8")  # exports are UTF-8 whatever the terminal's locale
    if format_ == "csv":
        export.write_csv(rows, out, kind, accounts=accounts)
    else:
        export.write_json(rows, out, kind, accounts=accounts)
    return 0


def _who() -> str:
    """Who asked for a deletion, for the audit: the system user, on the command line."""
    try:
        return f"{getpass.getuser()} (command line)"
    except (OSError, KeyError):  # no user name in the environment or the password database
        return "command line"


def _confirm_deletion(login_id: str, login: LoginRow | None, *, local_only: bool) -> None:
    """Say what will happen and ask to type "delete"; raise Failure unless the person does."""
    if not stdin_is_terminal():
        raise Failure("Nothing was deleted: there is no terminal to confirm on. Add --yes to delete from a script.")
    who = f" ({login.institution}, {login.username})" if login is not None and login.username else ""
    if local_only:
        what = (
            f"This removes the accounts, transactions and statements of {login_id}{who} from this "
            "computer. Flinks keeps the card."
        )
    elif login is None:
        what = (
            f"This deletes the card {login_id} at Flinks, which then forgets everything it holds for it. "
            "This computer holds nothing of it."
        )
    else:
        what = (
            f"This deletes the card {login_id}{who} at Flinks, which then forgets everything it "
            "holds for it, and removes its accounts, transactions and statements from this computer."
        )
    if not confirm(f"{what} It cannot be undone.", CONFIRMATION_WORD):
        raise Failure("Nothing was deleted.")


# -- what the tables show ---------------------------------------------------------------------------


def _signed(transaction: TransactionRow) -> Decimal | None:
    """One amount per line, as banks print it: credits positive, debits negative."""
    if transaction.debit is None and transaction.credit is None:
        return None
    return (transaction.credit or Decimal(0)) - (transaction.debit or Decimal(0))


def _account_number(account: AccountRow) -> str:
    if account.account_number:
        return mask_account_number(account.account_number)
    return f"•••{account.last_four_digits}" if account.last_four_digits else ""


def _account_label(account: AccountRow | None, number: str | None = None) -> str:
    """ "Everyday Chequing •••2087", the title shortened if need be: the masked number always shows."""
    if account is None:
        return mask_account_number(number) if number else ""
    masked = _account_number(account)
    if not account.title:
        return masked
    return f"{fit(plain(account.title), ACCOUNT_WIDTH - width(masked) - 1)} {masked}".strip()


def _caption(login: LoginRow) -> str:
    who = " · ".join(part for part in (login.institution, login.username) if part)
    synced = f"last synced {when(login.synced_at)}" if login.synced_at else "never synced"
    return f"{who} · {synced}\n"


def _activity_row(entry: ActivityRow) -> list[str]:
    meaning = describe(entry.flinks_code) if entry.flinks_code else ""
    if entry.kind == "api":
        event = f"{entry.method} {entry.name}"
        result = "no answer" if entry.status is None else str(entry.status)
        if entry.flinks_code:
            result += f" {entry.flinks_code}"
        if entry.duration_ms is not None:
            result += f" · {entry.duration_ms:,} ms"
    else:
        event, result = entry.name, entry.flinks_code or ""
        if entry.name == "DATA_DROPPED" and entry.detail and isinstance(entry.detail.get("message"), str):
            meaning = entry.detail["message"]
        if entry.name == "LOGIN_PURGED" and entry.detail:
            detail = entry.detail
            meaning = (
                f"Removed {count(detail.get('accounts', 0), 'account')}, "
                f"{count(detail.get('transactions', 0), 'transaction')} and "
                f"{count(detail.get('statements', 0), 'statement')}"
                + (f", asked by {detail['by']}." if detail.get("by") else ".")
            )
            if isinstance(detail.get("at_flinks"), bool):
                meaning = ("Deleted at Flinks first. " if detail["at_flinks"] else "Flinks was not asked. ") + meaning
    source = {"api": "API", "connect": "Connect", "app": "app"}[entry.kind]
    return [when(entry.at, seconds=True), source, event, result, entry.login or "", meaning]


# -- main --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # usage errors (2) and --help (0), as argparse printed them
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.env is not None and args.api_url is not None:
        return _usage_error(parser, "give --env or --api-url, not both")
    if args.command == "env" and (args.env is not None or args.api_url is not None):
        return _usage_error(
            parser, "env commands name the environment they act on: they take neither --env nor --api-url"
        )
    if args.command == "add" and not args.login_ids and args.from_file is None:
        return _usage_error(parser, "add needs loginIds, or --from-file FILE")
    if args.command in (None, "sandbox") and (args.env is not None or args.api_url is not None):
        return _usage_error(
            parser,
            "--env and --api-url choose where the commands work; the desktop app and the sandbox do not take them",
        )
    if args.command == "sandbox":
        return run_sandbox(args)
    if args.self_test:
        if args.command is not None or args.smoke:
            return _usage_error(parser, "--self-test runs on its own: give no command or --smoke with it")
        from flinks_desktop import self_test

        return self_test.run()
    if args.smoke and args.command is not None:
        return _usage_error(parser, "--smoke starts the desktop app: give no command with it")
    if args.command is None:
        return run_gui(args)
    _configure_logging()
    told: list[SyncCancelled] = []
    try:
        return _run_command(args, told)
    except KeyboardInterrupt:  # Ctrl-C: 130, as a shell reports a command it interrupted
        # The sync says what became of its data (a snapshot already being written is kept).
        _fail(told[-1].message if told else INTERRUPTED_SENTENCE)
        return INTERRUPTED
    except BrokenPipeError:  # `| head`: the reader left; say nothing more on a closed pipe
        silence_stdout()
        return 1


def _run_command(args: argparse.Namespace, told: list[SyncCancelled]) -> int:
    """Run the command; a `SyncCancelled` that ends it (Ctrl-C: asyncio.run cancels the command's
    task, then raises KeyboardInterrupt) is put in `told`, for `main` to say what it says."""
    try:
        context = Context.open(args)
        if inspect.iscoroutinefunction(args.handler):
            return asyncio.run(_telling_cancellation(args.handler(context, args), told))
        return args.handler(context, args)
    except FlinksError as error:
        return _fail(str(error))  # its sentence and "(FLINKS_CODE)"
    except Failure as failure:
        return _fail(str(failure), failure.details)
    except (CacheError, SettingsError, SyncRefused, ExportError, paths.DataDirError) as error:
        return _fail(str(error))
    except BrokenPipeError:
        raise  # the reader of stdout left: `main` ends quietly
    except OSError as error:
        if error.errno not in _NO_ROOM:  # the cache's and files' errors are sentences already: a bug
            return _unexpected(error)
        # What was left to write was the output (`> file` on a full disk, /dev/full).
        silence_stdout()
        return _fail(f"The output could not be written: {error.strerror}. Free some space, or write it elsewhere.")
    except Exception as error:  # a bug: one sentence, never a traceback (unless debugging)
        return _unexpected(error)


#: A write that failed for want of room: the disk or the user's quota is full.
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


def _unexpected(error: Exception) -> int:
    """A bug: one sentence, never a traceback (unless debugging)."""
    if os.environ.get(DEBUG_VARIABLE):
        raise error
    return _fail(
        f"Something unexpected went wrong ({type(error).__name__}). "
        f"Run again with {DEBUG_VARIABLE}=1 to see the details, and report them."
    )


async def _telling_cancellation(command: Awaitable[int], told: list[SyncCancelled]) -> int:
    try:
        return await command
    except SyncCancelled as cancelled:
        told.append(cancelled)
        raise


def _usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    parser.print_usage(sys.stderr)
    print(f"{PROGRAM}: error: {message}", file=sys.stderr)
    return 2


def _fail(sentence: str, details: Sequence[str] = ()) -> int:
    print(f"{PROGRAM}: {plain(sentence)}", file=sys.stderr, flush=True)
    for line in details:
        print(plain(line), file=sys.stderr, flush=True)
    return 1


def run_gui(args: argparse.Namespace) -> int:
    from flinks_desktop.ui.app import run  # Qt is imported only here: the commands never need it

    return run(data_dir=args.data_dir, smoke=args.smoke)


def _configure_logging() -> None:
    """Core modules log warnings for the desktop app's log; on a terminal they would be noise around
    the one sentence a failure prints. FLINKS_DESKTOP_DEBUG=1 shows everything."""
    if os.environ.get(DEBUG_VARIABLE):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    elif not logging.getLogger().handlers:
        logging.getLogger().addHandler(logging.NullHandler())
