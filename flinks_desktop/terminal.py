"""How the command line talks to a terminal: questions, the progress line, tables.

`cli` decides what to say; this module decides how it reaches a person. Its choices, and why:

- **stdout is the result, stderr is the conversation.** Questions, progress and failures go to
  stderr, so `> file` and pipes get only what a command produced.
- **The password is never echoed.** On a terminal it is asked with `getpass`, even when
  --password-stdin was given (typing it there would show it); from a pipe it is the first line,
  without its line break ("\\n" or "\\r\\n"), and an empty one is refused rather than sent.
- **Secrets are never echoed either**: `read_secret` asks with `getpass` on a terminal, else takes
  the first line of stdin, as the password is.
- **Answers are one line each, from a terminal or a pipe** (`input()`). A piped answer is not
  echoed, so the prompt's line is ended on stderr, as it is after Ctrl-C. The end of input
  (Ctrl-D) means "no answer": the question is cancelled and the command goes on to its end.
  Ctrl-C stops the command (KeyboardInterrupt: `cli` exits 130). While any prompt waits, Ctrl-C
  raises at once: `asyncio.run` would only cancel the main task, which a blocking read does not
  notice until Enter.
- **Progress is one updating line, only on a terminal.** "\\r\\x1b[K" (back to the start, erase
  the line) rewrites it in place; in a file or a pipe those bytes would be litter, so there it says
  nothing. It is erased before a question and at the end: the terminal is left clean. While Flinks
  answers 202 it counts the seconds, redrawn every second, and says how long it waits at most.
- **Bank text is not trusted.** A terminal obeys escape sequences, and a line break or a
  bidirectional override in a description would break or reorder a table, so `plain` turns control
  characters into spaces, drops invisible format characters and replaces text that is not
  Unicode (a lone surrogate, which no terminal encoding can write) from anything a bank or a
  server wrote.
- **Tables are measured as a terminal draws them**: wide East Asian characters take two columns,
  combining marks none, so columns line up; long text is shortened with "…"; amounts are
  right-aligned, with thousands separators and their currency; times are local.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TextIO

from flinks_desktop.core.flinks import SecurityChallenge, check_answerable
from flinks_desktop.core.money import money as core_money
from flinks_desktop.core.sync import MfaPrompt, SyncProgress


class Failure(Exception):
    """A command cannot do what was asked; `str()` is the sentence for stderr. `details`: lines
    shown under it (the candidates of an ambiguous loginId)."""

    def __init__(self, sentence: str, details: Sequence[str] = ()) -> None:
        super().__init__(sentence)
        self.details = tuple(details)


# -- questions ------------------------------------------------------------------------------------------


def stdin_is_terminal() -> bool:
    """Whether a person types the input, rather than a pipe or a file supplying it."""
    return sys.stdin.isatty()


def read_password(username: str, institution: str, *, from_stdin: bool) -> str:
    """The bank password: asked without echo on a terminal (even with --password-stdin, which would
    show it), else the first line of stdin with --password-stdin."""
    if not stdin_is_terminal() and not from_stdin:
        raise Failure(
            "There is no terminal to type the password on: "
            "give it on the first line of standard input with --password-stdin."
        )
    password = _hidden_or_first_line(f"Password for {username} at {institution}: ")
    if not password:
        raise Failure("The password is empty, so nothing was sent to Flinks.")
    return password


def read_secret(prompt: str) -> str:
    """A secret (an API key): asked without echo on a terminal, else the first line of stdin.
    Surrounding spaces are removed; an empty one is refused."""
    secret = _hidden_or_first_line(prompt).strip()
    if not secret:
        raise Failure("The secret is empty, so nothing was saved.")
    return secret


def _hidden_or_first_line(prompt: str) -> str:
    """`getpass` on a terminal; else stdin's first line without its line break ("\\n" or "\\r\\n")."""
    with _interrupt_raises():
        if stdin_is_terminal():
            return getpass.getpass(prompt)
        line = sys.stdin.readline()
    line = line[:-1] if line.endswith("\n") else line
    return line[:-1] if line.endswith("\r") else line


def read_line(question: str = "") -> str | None:
    """Ask `question` on stderr and read one line from stdin (a terminal or a pipe), without its line
    break; None at the end of input. Ctrl-C raises KeyboardInterrupt (the command stops), after
    ending the prompt's line: from the moment the question shows, not only once `input` waits."""
    with _interrupt_raises():
        if question:
            ask(question)
        try:
            line = input()
        except EOFError:
            line = None
        except KeyboardInterrupt:
            print(file=sys.stderr)
            raise
    if line is None or not stdin_is_terminal():
        print(file=sys.stderr)  # the end, or a piped answer that was not echoed: end the prompt's line
    return line


def ask(question: str) -> None:
    print(question, end="", file=sys.stderr, flush=True)


def confirm(warning: str, word: str) -> bool:
    """Show `warning` and ask to type `word`: whether the person did (any case, spaces around)."""
    print(plain(warning), file=sys.stderr)
    return (read_line(f'Type "{word}" to confirm: ') or "").strip().lower() == word


class TerminalMfa:
    """The bank's security questions, asked on stderr and answered on stdin (the `Sync` MFA callback).

    Several questions are asked one after the other. A question with options (Flinks' `Iterables`)
    lists them numbered: a number or the option's text picks one; when the bank takes several
    answers, several numbers separated by commas or spaces. A question nobody can answer on a
    terminal (an image...) raises `UnsupportedChallenge`, whose sentence says to use Flinks Connect,
    before anything is asked. The end of input leaves them unanswered (None); Ctrl-C stops the command.
    """

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    async def __call__(self, prompt: MfaPrompt) -> dict[str, list[str]] | None:
        check_answerable(prompt.challenges)
        self._progress.clear()
        several = len(prompt.challenges) > 1
        if prompt.retry_message:
            print(f"The bank says: {plain(prompt.retry_message)}", file=sys.stderr)
        elif prompt.institution:
            asks = f"asks {len(prompt.challenges)} security questions" if several else "asks a security question"
            print(f"{plain(prompt.institution)} {asks}.", file=sys.stderr)
        answers: dict[str, list[str]] = {}
        for challenge in prompt.challenges:
            answer = self._answer(challenge)
            if answer is None:
                return None
            answers[challenge.prompt] = answer
        return answers

    def _answer(self, challenge: SecurityChallenge) -> list[str] | None:
        options = challenge.options
        for number, option in enumerate(options, start=1):
            print(f"  {number}. {plain(option)}", file=sys.stderr)
        if options and challenge.several_answers:
            print("  (Type the numbers of every answer that applies, separated by commas.)", file=sys.stderr)
        while True:
            line = read_line(f"{plain(challenge.prompt)} ")
            if line is None:
                return None
            answer = _chosen(line.strip(), options, several=challenge.several_answers)
            if answer:
                return answer
            if options and line.strip():
                print(f"Type a number from 1 to {len(options)}, or the answer as shown.", file=sys.stderr)
            else:
                print("An empty answer cannot be sent: type the answer, or press Ctrl-C to cancel.", file=sys.stderr)


def _chosen(typed: str, options: Sequence[str], *, several: bool) -> list[str]:
    """What `typed` answers: free text without options; else the options it names, by number or
    as written (an option that is itself a number wins over the number). Empty: no answer."""
    if not options:
        return [typed] if typed else []
    if typed in options:
        return [typed]
    parts = typed.replace(",", " ").split() if several else [typed]
    chosen = []
    for part in parts:
        if part in options:
            chosen.append(part)
        elif part.isdigit() and 1 <= int(part) <= len(options):
            chosen.append(options[int(part) - 1])
        else:
            return []
    return list(dict.fromkeys(chosen))


@contextmanager
def _interrupt_raises() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt for the time of a prompt (`input()`, `getpass`, a read).

    asyncio.run's own handler only cancels the main task, which a blocking read would not notice
    until the person pressed Enter.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# -- progress -------------------------------------------------------------------------------------------


class Progress:
    """A sync's stage on one updating line of stderr, when it is a terminal; silent otherwise.

    While Flinks answers 202 the line counts the seconds, and says how long the client waits at most
    (`SyncProgress.limit`): "Waiting for Flinks… 12 s (at most 30 min)".
    """

    LABELS = {
        "authorize": "Signing in at Flinks…",
        "mfa": "Answering the bank's question…",
        "accounts": "Fetching accounts and transactions…",
        "statements": "Fetching statements…",
        "saving": "Saving…",
    }

    def __init__(self, stream: TextIO, *, name_logins: bool = False) -> None:
        self._stream = stream
        self._on = stream.isatty()
        self._name_logins = name_logins
        self._label = ""
        self._waiting_since: float | None = None
        self._limit: float | None = None
        self._ticker: asyncio.Task[None] | None = None

    def __call__(self, progress: SyncProgress) -> None:
        if progress.stage == "done":
            self._label, self._waiting_since = "", None
        elif progress.stage == "waiting":
            if self._waiting_since is None:
                self._waiting_since = time.monotonic() - (progress.elapsed or 0.0)
            self._label, self._limit = "Waiting for Flinks…", progress.limit
        else:
            self._label, self._waiting_since = self.LABELS.get(progress.stage, ""), None
        if self._name_logins and progress.login_id and self._label:
            self._label = f"{progress.login_id}: {self._label}"
        self._render()

    def clear(self) -> None:
        if self._on:
            self._stream.write("\r\x1b[K")
            self._stream.flush()

    async def __aenter__(self) -> Progress:
        if self._on:
            self._ticker = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        self.clear()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(1)
            if self._waiting_since is not None:
                self._render()

    def _render(self) -> None:
        if not self._on:
            return
        text = self._label
        if self._waiting_since is not None:
            text += f" {int(time.monotonic() - self._waiting_since)} s"
            if self._limit is not None:
                text += f" (at most {duration(self._limit)})"
        self._stream.write(f"\r\x1b[K{text}")
        self._stream.flush()


# -- tables ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    title: str
    right: bool = False
    #: Longer text is shortened with "…" (None: never shortened).
    width: int | None = None


def print_table(
    columns: Sequence[Col],
    rows: Sequence[Sequence[str]],
    *,
    notes: Mapping[int, str] | None = None,
    out: TextIO | None = None,
) -> None:
    """Aligned columns, two spaces apart, the titles first. `notes[i]` is printed indented under row i."""
    out = out or sys.stdout
    cells = [[fit(plain(text), column.width) for text, column in zip(row, columns, strict=True)] for row in rows]
    widths = [max([width(column.title), *(width(row[i]) for row in cells)]) for i, column in enumerate(columns)]

    def line(texts: Sequence[str]) -> str:
        padded = [
            _pad(text, column_width, right=column.right)
            for text, column_width, column in zip(texts, widths, columns, strict=True)
        ]
        return "  ".join(padded).rstrip()

    print(line([column.title for column in columns]), file=out)
    for index, row in enumerate(cells):
        print(line(row), file=out)
        if notes and index in notes:
            print(f"    {plain(notes[index])}", file=out)


def plain(text: str) -> str:
    """Text from a bank or a server, safe on a terminal: control characters (escape sequences, line
    breaks) become spaces, invisible format characters (bidirectional overrides) go, and a lone
    surrogate (not a character: no encoding can write it) becomes U+FFFD."""
    return "".join(
        " "
        if unicodedata.category(c) == "Cc"
        else ""
        if unicodedata.category(c) == "Cf"
        else "\ufffd"
        if unicodedata.category(c) == "Cs"
        else c
        for c in text
    )


def duration(seconds: float) -> str:
    """ "45 s", "2 min 5 s", "30 min", "1 h 30 min": a length of time, as a person reads it."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, seconds_left = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds_left} s" if seconds_left else f"{minutes} min"
    return f"{seconds_left} s"


def width(text: str) -> int:
    """Columns `text` takes on a terminal: wide East Asian characters 2, combining marks 0."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit(text: str, columns: int | None) -> str:
    """`text` shortened with "…" to take at most `columns` (None: as it is)."""
    if columns is None or width(text) <= columns:
        return text
    kept, used = [], 0
    for character in text:
        used += width(character)
        if used > columns - 1:
            break
        kept.append(character)
    return "".join(kept).rstrip() + "…"


def _pad(text: str, columns: int, *, right: bool) -> str:
    gap = " " * (columns - width(text))
    return gap + text if right else text + gap


# -- values, as a table shows them ----------------------------------------------------------------------


def money(amount: Decimal | None, currency: str | None) -> str:
    """ "-1,234.50 CAD": the currency by its code, which a script reading the table can rely on."""
    return core_money(amount, currency, missing="", symbols=False)


def when(moment: datetime | None, *, seconds: bool = False) -> str:
    if moment is None:
        return "never"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def period(start: date | None, end: date | None) -> str:
    if end is None:
        return ""
    return f"{start.isoformat()} – {end.isoformat()}" if start else f"until {end.isoformat()}"


def file_size(size: int) -> str:
    return f"{size / 1024:,.1f} KB" if size >= 1024 else f"{size} B"


def count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


# -- stdout ---------------------------------------------------------------------------------------------


def silence_stdout() -> None:
    """Point stdout at the null device: its reader left (`| head`), and Python's final flush of what
    is still buffered would only fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests): nothing to flush anyway
        pass
