"""`flinks-desktop`: the desktop app, and the same engine on the command line.

    flinks-desktop [--data-dir DIR]                                the desktop app
    flinks-desktop [--data-dir DIR] [--env NAME | --api-url URL] COMMAND ...

    login --institution I --username U [--password-stdin]      log in with the bank credentials
    sync (LOGIN_ID | --all) [--live]                             refresh: Flinks' cache, or the bank
    list [--format table|csv|json]                               the connections
    accounts LOGIN_ID [--format table|csv|json]
    transactions LOGIN_ID [--search TEXT] [--since DATE] [--limit N] [--format table|csv|json]
    statements LOGIN_ID [--save DIR [--overwrite]]
    activity [LOGIN_ID] [--limit N]
    delete-card LOGIN_ID [--local-only] [--yes]
    sandbox [--host H] [--port P] ...                            the offline Flinks Capital sandbox

Exit status: 0 on success, 1 with one plain sentence on stderr for a failure (with the FlinksCode
when Flinks gave one), 2 for usage errors. Read top to bottom: the parser, the commands (one small
function each, over `core`), then `main`. How they talk to a terminal (prompts, progress, tables,
bank text made safe to show) is `flinks_desktop.terminal`.

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
- **Secrets** come from the keyring (`settings.client_for`), never from the command line. The
  password is asked on the terminal without echo, or read as the first line of stdin with
  `--password-stdin`; the bank's questions are shown verbatim on stderr and answered on stdin, a
  terminal or a pipe (one line per answer). Ctrl-C or the end of input at a prompt cancels.
- **delete-card** asks to type "delete" on a terminal; without a terminal it needs `--yes`.
- **statements --save** never overwrites a different file unless `--overwrite`; a file already
  there with the same bytes is left alone, so a second run is harmless.
- `FLINKS_DESKTOP_POLL_INTERVAL` (seconds) overrides how often a 202 is polled: 1 s for the
  offline sandbox, 10 s otherwise, as Flinks asks. `FLINKS_DESKTOP_DEBUG=1` logs to stderr and
  shows the traceback of an unexpected error instead of its one-sentence summary.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import inspect
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from flinks_desktop.core import export, paths
from flinks_desktop.core.audit import describe
from flinks_desktop.core.export import ExportConflict, ExportError
from flinks_desktop.core.flinks import FlinksError
from flinks_desktop.core.redact import is_guid, mask_account_number
from flinks_desktop.core.settings import (
    Environment,
    SecretStore,
    Settings,
    SettingsError,
    custom_api,
)
from flinks_desktop.core.store import (
    AccountRow,
    ActivityRow,
    CacheError,
    LoginRow,
    StatementRow,
    Store,
    TransactionRow,
)
from flinks_desktop.core.sync import DeleteResult, SyncRefused, SyncResult
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
    # The same options after the command; SUPPRESS keeps them from hiding those given before it.
    shared = argparse.ArgumentParser(add_help=False)
    _add_global_options(shared, defaults=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: object, summary: str, description: str = "") -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[shared], help=summary, description=description or summary)
        sub.set_defaults(handler=handler)
        return sub

    login = command("login", log_in, "log in with a username and password, answering the bank's questions",
                    "Log in to an institution with the bank credentials (a direct login), answer the bank's "
                    "security questions, and fetch the new connection's data. Prints its loginId.")
    login.add_argument("--institution", required=True, metavar="I", help='e.g. "FlinksCapital"')
    login.add_argument("--username", required=True, metavar="U")
    login.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of standard input instead of asking")

    sync = command("sync", sync_logins, "refresh a connection from Flinks",
                   "Fetch a connection's accounts, transactions and statements again: what Flinks holds "
                   "(default), or fresh from the bank with --live, which may ask security questions.")
    which = sync.add_mutually_exclusive_group(required=True)
    which.add_argument("login_id", nargs="?", type=_login_id, metavar="LOGIN_ID")
    which.add_argument("--all", action="store_true", help="every connection of the environment, one by one")
    sync.add_argument("--live", action="store_true",
                      help="log in to the bank again instead of using Flinks' cache")

    listing = command("list", list_logins, "the connections, with their loginIds and status")
    _add_format_option(listing)

    accounts = command("accounts", show_accounts, "a connection's accounts and balances")
    accounts.add_argument("login_id", type=_login_id, metavar="LOGIN_ID")
    _add_format_option(accounts)

    transactions = command("transactions", show_transactions, "a connection's transactions, newest first")
    transactions.add_argument("login_id", type=_login_id, metavar="LOGIN_ID")
    transactions.add_argument("--search", metavar="TEXT",
                              help="descriptions with every word of TEXT (as a prefix)")
    transactions.add_argument("--since", type=_since, metavar="DATE",
                              help="from this day on: YYYY-MM-DD, or a number of days back such as 90d")
    transactions.add_argument("--limit", type=_positive, metavar="N", help="only the newest N")
    _add_format_option(transactions)

    statements = command("statements", show_statements, "a connection's statements; save them as files")
    statements.add_argument("login_id", type=_login_id, metavar="LOGIN_ID")
    statements.add_argument("--save", type=Path, metavar="DIR", help="write each statement into DIR")
    statements.add_argument("--overwrite", action="store_true",
                            help="with --save, replace files that exist with other content")

    activity = command("activity", show_activity,
                       "API calls and events, with the Flinks codes in plain words")
    activity.add_argument("login_id", nargs="?", type=_login_id, metavar="LOGIN_ID")
    activity.add_argument("--limit", type=_positive, default=DEFAULT_ACTIVITY_LIMIT, metavar="N",
                          help=f"the newest N entries (default: {DEFAULT_ACTIVITY_LIMIT})")

    delete = command("delete-card", delete_card, "delete a card at Flinks and its data on this computer")
    delete.add_argument("login_id", type=_login_id, metavar="LOGIN_ID")
    delete.add_argument("--local-only", action="store_true",
                        help="only remove its data from this computer; Flinks keeps the card")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    _add_sandbox_parser(commands)
    return parser


def _add_global_options(parser: argparse.ArgumentParser, *, defaults: object) -> None:
    parser.add_argument("--data-dir", metavar="DIR", default=defaults,
                        help="where settings and caches live "
                             "(default: $FLINKS_DESKTOP_HOME, else the usual place)")
    parser.add_argument("--env", metavar="NAME", default=defaults,
                        help='an environment of the settings, e.g. "Flinks toolbox" '
                             "(default: the active one)")
    parser.add_argument("--api-url", type=_api_url, metavar="URL", default=defaults,
                        help="any Flinks API, up to and including the customer id, "
                             "e.g. http://127.0.0.1:8765/v3/43387ca6-0391-4c82-857d-70d95f087ecb")


def _add_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="table for people (default); csv or json, exact, for programs")


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
    sandbox.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD",
                         help="the last day of the dataset (default: today)")
    sandbox.add_argument("--state-file", metavar="FILE",
                         help="keep logins and deleted cards in this JSON file across restarts")
    sandbox.add_argument("--pending-polls", type=int, default=1, metavar="N",
                         help="202 answers of the Async endpoint before detail data is ready (default: 1)")
    sandbox.add_argument("--mfa-rounds", type=int, default=1, choices=(1, 2, 3),
                         help="security questions asked one after the other (default: 1)")
    sandbox.add_argument("--bank-delay", type=float, default=0.8, metavar="SECONDS",
                         help="how long the fake bank takes to check an answer (default: 0.8)")


def _login_id(text: str) -> str:
    value = text.strip()  # as typed: a server may answer loginIds in either case
    if not is_guid(value):
        raise argparse.ArgumentTypeError(
            f'"{text}" is not a loginId: it is a GUID such as b0debb48-f9f1-46c6-80a4-08d7dd88d478 '
            f"(see {PROGRAM} list)")
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
            f'"{text}" is not a date: use YYYY-MM-DD or a number of days such as 90d') from None


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
        """The environment's cache, for reading on this thread."""
        with Store.open(self.settings.cache_path(self.environment)) as store:
            yield store

    @asynccontextmanager
    async def workspace(self) -> AsyncIterator[Workspace]:
        """The environment ready to talk to Flinks: the offline sandbox started if it is the one,
        a client with the keyring's secrets, the sync engine; all of it closed afterwards."""
        sandbox = None
        environment = self.environment
        try:
            if self.is_offline_sandbox:
                from flinks_desktop.sandbox import SandboxConfig, SandboxServer

                state_file = str(self.settings.sandbox_state_file())  # loginIds outlive the command
                sandbox = SandboxServer(SandboxConfig(state_file=state_file)).start()
                environment = environment.running_at(sandbox.base_url)
            secrets = SecretStore()
            if environment.is_production and not secrets.status.available:
                print(f"{PROGRAM}: {secrets.status.message}", file=sys.stderr)
            workspace = open_workspace(
                self.settings, secrets, environment, poll_interval=self._poll_interval()
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
            raise Failure(
                f'{POLL_INTERVAL_VARIABLE} is "{text}": give a number of seconds between 0 and 600.')
        return interval

    def cached_login(self, store: Store, login_id: str) -> LoginRow:
        login = store.login(login_id)
        if login is None:
            raise Failure(
                f"There is no connection {login_id} in “{self.environment.name}”. "
                f"See the loginIds with: {PROGRAM} list"
            )
        return login

    def login_hint(self) -> str:
        if self.is_offline_sandbox:
            return f"{PROGRAM} login --institution FlinksCapital --username Greatday (password Everyday)"
        return f"{PROGRAM} login --institution INSTITUTION --username USERNAME"


def _environment_named(settings: Settings, name: str) -> Environment:
    try:
        return settings.environment(name)
    except SettingsError:
        names = ", ".join(f"“{environment.name}”" for environment in settings.environments())
        raise Failure(f"There is no environment named “{name}”: choose one of {names}.") from None


# -- the commands ----------------------------------------------------------------------------------


async def log_in(context: Context, args: argparse.Namespace) -> int:
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
    with context.cache() as store:
        context.cached_login(store, args.login_id)  # before starting anything
    async with context.workspace() as workspace, Progress(sys.stderr) as progress:
        result = await workspace.sync.refresh(
            args.login_id, live=args.live, mfa=TerminalMfa(progress), progress=progress
        )
    return _report(result)


async def _sync_every_login(context: Context, args: argparse.Namespace) -> int:
    """One by one (concurrency 1): the bank's questions of two logins must not interleave."""
    async with context.workspace() as workspace, Progress(sys.stderr, name_logins=True) as progress:
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
    return 0


def list_logins(context: Context, args: argparse.Namespace) -> int:
    with context.cache() as store:
        logins = store.logins()
    if args.format != "table":
        return _write_export(logins, LoginRow, args.format)
    if not logins:
        print(f"No connections yet in “{context.environment.name}”. "
              f"Connect one with: {context.login_hint()}")
        return 0
    rows, notes = [], {}
    for login in logins:
        status = login.status.replace("_", " ")
        if login.error_code:
            status += f": {login.error_code}"
        rows.append([login.id, login.institution, login.username or "", status,
                     when(login.status_at), when(login.synced_at)])
        if login.status != "ok" and login.error_message:
            notes[len(rows) - 1] = login.error_message
    print_table(
        [Col("LOGIN ID"), Col("INSTITUTION"), Col("USERNAME"), Col("STATUS"), Col("SINCE"), Col("LAST SYNC")],
        rows, notes=notes,
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
        [account.title or "", _account_number(account), account.type or "", account.currency or "",
         money(account.balance.current, account.currency),
         money(account.balance.available, account.currency),
         f"missing since {when(account.missing_since)}" if account.missing_since else ""]
        for account in accounts
    ]
    print_table([Col("ACCOUNT", width=40), Col("NUMBER"), Col("TYPE"), Col("CURRENCY"),
                 Col("CURRENT", right=True), Col("AVAILABLE", right=True), Col("")], rows)
    return 0


def show_transactions(context: Context, args: argparse.Namespace) -> int:
    filters = {"search": args.search, "since": args.since}
    with context.cache() as store:
        login = context.cached_login(store, args.login_id)
        transactions = store.transactions(login.id, limit=args.limit, **filters)
        total = store.count_transactions(login.id, **filters) if args.limit else len(transactions)
        accounts = {account.id: account for account in store.accounts(login.id)}
    if args.format != "table":
        return _write_export(transactions, TransactionRow, args.format)
    print(_caption(login))
    if not transactions:
        filtered = args.search or args.since
        print("No transactions match." if filtered else "No transactions cached for this connection.")
        return 0
    rows = []
    for transaction in transactions:
        account = accounts.get(transaction.account_id)
        currency = account.currency if account is not None else None
        rows.append([transaction.date.isoformat(), _account_label(account), transaction.description or "",
                     money(_signed(transaction), currency), money(transaction.balance, currency)])
    print_table([Col("DATE"), Col("ACCOUNT"), Col("DESCRIPTION", width=DESCRIPTION_WIDTH),
                 Col("AMOUNT", right=True), Col("BALANCE", right=True)], rows)
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
        [_account_label(by_number.get(statement.account_number), statement.account_number),
         *([period(statement.period_start, statement.period_end)] if periods else []),
         when(statement.fetched_at), statement.file_type or "", file_size(statement.size),
         statement.unique_id]
        for statement in statements
    ]
    print_table([Col("ACCOUNT"), *([Col("PERIOD")] if periods else []), Col("FETCHED"), Col("TYPE"),
                 Col("SIZE", right=True), Col("ID")], rows)
    print(f"\nSave them as files with: {PROGRAM} statements {login.id} --save DIR")
    return 0


def _save_statements(store: Store, login: LoginRow, statements: Sequence[StatementRow],
                     by_number: Mapping[str | None, AccountRow], folder: Path, overwrite: bool) -> int:
    if not statements:
        raise Failure(f"There are no statements cached for {login.id}: nothing was saved. "
                      f"Fetch them with: {PROGRAM} sync {login.id}")
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


def show_activity(context: Context, args: argparse.Namespace) -> int:
    with context.cache() as store:
        entries = store.activity(args.login_id, limit=args.limit)
    if not entries:
        which = f"for {args.login_id}" if args.login_id else f"in “{context.environment.name}”"
        print(f"No activity recorded {which}.")
        return 0
    rows = [_activity_row(entry) for entry in reversed(entries)]  # oldest first: the latest last
    print_table([Col("TIME"), Col("SOURCE"), Col("EVENT"), Col("RESULT"), Col("LOGIN"), Col("MEANING")], rows)
    return 0


async def delete_card(context: Context, args: argparse.Namespace) -> int:
    with context.cache() as store:  # closed before the purge: it must have the file to itself
        login = store.login(args.login_id)
    if login is None and args.local_only:
        raise Failure(f"There is no connection {args.login_id} on this computer: there is nothing to remove.")
    if not args.yes:
        _confirm_deletion(args.login_id, login, local_only=args.local_only)
    async with context.workspace() as workspace:
        result = await workspace.sync.delete_card(args.login_id, local_only=args.local_only, by=_who())
    if _report(result):
        return 1
    if result.purged is not None and result.purged.login:
        purged = result.purged
        print(f"Removed {count(purged.accounts, 'account')}, {count(purged.transactions, 'transaction')} "
              f"and {count(purged.statements, 'statement')} from this computer.")
    return 0


def run_sandbox(args: argparse.Namespace) -> int:
    from flinks_desktop.sandbox import SandboxConfig, serve_forever

    config = SandboxConfig(
        auth_key=os.environ.get("FLINKS_SANDBOX_AUTH_KEY") or None,
        api_key=os.environ.get("FLINKS_SANDBOX_API_KEY") or None,
        as_of=args.as_of,
        state_file=args.state_file,
        pending_polls=args.pending_polls,
        mfa_rounds=args.mfa_rounds,
        bank_delay=args.bank_delay,
    )
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Flinks Capital offline sandbox on http://{host}:{args.port}/", flush=True)
    print(f"  API:     http://{host}:{args.port}/v3/{config.customer_id}/BankingServices/", flush=True)
    print(f"  Connect: http://{host}:{args.port}/v2/?demo=true", flush=True)
    try:
        serve_forever(config, host=args.host, port=args.port)
    except OSError as exc:
        print(f"flinks-desktop: the sandbox cannot listen on {host}:{args.port}: {exc.strerror or exc}.",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


# -- what the commands share ------------------------------------------------------------------------


def _report(result: SyncResult | DeleteResult) -> int:
    """The result's sentence: on stdout when it went well (0), else on stderr (1)."""
    if not result.ok:
        return _fail(_sentence(result))
    print(result.message)
    return 0


def _sentence(result: SyncResult | DeleteResult) -> str:
    """The result's sentence, with the FlinksCode of its failure when Flinks gave one."""
    code = result.error.flinks_code if isinstance(result.error, FlinksError) else None
    return f"{result.message} ({code})" if code and code not in result.message else result.message


def _write_export(rows: Sequence[ExportRow], kind: type[ExportRow], format_: Format) -> int:
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        out.reconfigure(encoding="utf-8")  # exports are UTF-8 whatever the terminal's locale
    if format_ == "csv":
        export.write_csv(rows, out, kind)
    else:
        export.write_json(rows, out, kind)
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
        raise Failure("Nothing was deleted: there is no terminal to confirm on. "
                      "Add --yes to delete from a script.")
    who = f" ({login.institution}, {login.username})" if login is not None and login.username else ""
    if local_only:
        what = (f"This removes the accounts, transactions and statements of {login_id}{who} from this "
                "computer. Flinks keeps the card.")
    elif login is None:
        what = (f"This deletes the card {login_id} at Flinks, which then forgets everything it holds for it. "
                "This computer holds nothing of it.")
    else:
        what = (f"This deletes the card {login_id}{who} at Flinks, which then forgets everything it "
                "holds for it, and removes its accounts, transactions and statements from this computer.")
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
        if entry.name == "LOGIN_PURGED" and entry.detail:
            detail = entry.detail
            meaning = (f"Removed {count(detail.get('accounts', 0), 'account')}, "
                       f"{count(detail.get('transactions', 0), 'transaction')} and "
                       f"{count(detail.get('statements', 0), 'statement')}"
                       + (f", asked by {detail['by']}." if detail.get("by") else "."))
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
    if args.command in (None, "sandbox") and (args.env is not None or args.api_url is not None):
        return _usage_error(parser, "--env and --api-url choose where the commands work; "
                                    "the desktop app and the sandbox do not take them")
    if args.command == "sandbox":
        return run_sandbox(args)
    if args.command is None:
        return run_gui(args)
    _configure_logging()
    try:
        return _run_command(args)
    except KeyboardInterrupt:
        return _fail("Cancelled: nothing more was sent to Flinks or saved.")
    except BrokenPipeError:  # `| head`: the reader left; say nothing more on a closed pipe
        silence_stdout()
        return 1


def _run_command(args: argparse.Namespace) -> int:
    try:
        context = Context.open(args)
        if inspect.iscoroutinefunction(args.handler):
            return asyncio.run(args.handler(context, args))
        return args.handler(context, args)
    except FlinksError as error:
        return _fail(str(error))  # its sentence and "(FLINKS_CODE)"
    except (Failure, CacheError, SettingsError, SyncRefused, ExportError, paths.DataDirError) as error:
        return _fail(str(error))
    except BrokenPipeError:
        raise  # the reader of stdout left: `main` ends quietly
    except Exception as error:  # a bug: one sentence, never a traceback (unless debugging)
        if os.environ.get(DEBUG_VARIABLE):
            raise
        return _fail(f"Something unexpected went wrong ({type(error).__name__}). "
                     f"Run again with {DEBUG_VARIABLE}=1 to see the details, and report them.")


def _usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    parser.print_usage(sys.stderr)
    print(f"{PROGRAM}: error: {message}", file=sys.stderr)
    return 2


def _fail(sentence: str) -> int:
    print(f"{PROGRAM}: {plain(sentence)}", file=sys.stderr, flush=True)
    return 1


def run_gui(args: argparse.Namespace) -> int:
    from flinks_desktop.ui.app import run  # Qt is imported only here: the commands never need it

    return run(data_dir=args.data_dir)


def _configure_logging() -> None:
    """Core modules log warnings for the desktop app's log; on a terminal they would be noise around
    the one sentence a failure prints. FLINKS_DESKTOP_DEBUG=1 shows everything."""
    if os.environ.get(DEBUG_VARIABLE):
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    elif not logging.getLogger().handlers:
        logging.getLogger().addHandler(logging.NullHandler())
