"""The `flinks-desktop` command's entry point: the desktop app without loading the commands.

`flinks-desktop` with no command (only `--data-dir DIR` and `--smoke`) starts the desktop app
straight away; anything else goes to `flinks_desktop.cli`, which parses it, says what is wrong,
and runs the command. The commands' module loads the whole engine (the store, the sync, the HTTP
client): the window paints before any of that is needed, so it is not imported on this path.
"""

from __future__ import annotations

import gc
import sys
import time

#: When the entry point's module was loaded: `--smoke` reports its start-up phases from here.
LOADED = time.perf_counter()


def desktop_app_options(argv: list[str]) -> dict | None:
    """The desktop app's options when `argv` asks for nothing else, else None (the commands' parser
    decides: a command, --help, --version, a typo...)."""
    options: dict = {"data_dir": None, "smoke": False}
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        if word == "--smoke":
            options["smoke"] = True
        elif word == "--data-dir" and rest and not rest[0].startswith("-"):
            options["data_dir"] = rest.pop(0)
        elif word.startswith("--data-dir=") and len(word) > len("--data-dir="):
            options["data_dir"] = word.removeprefix("--data-dir=")
        else:
            return None
    return options


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    options = desktop_app_options(argv)
    if options is not None:
        # Up to the first paint, the cyclic garbage collector would walk every object the imports
        # make, again and again, for nothing (nothing to collect yet): ~9 ms. `run` turns it back
        # on once the window is painted.
        gc.disable()
        try:
            from flinks_desktop.ui.app import run

            return run(**options)
        finally:
            gc.enable()  # whatever ended it (and `run` did once painted)
    from flinks_desktop.cli import main as command

    return command(argv)


if __name__ == "__main__":
    sys.exit(main())
