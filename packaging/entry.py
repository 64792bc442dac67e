"""The desktop bundle's entry point (PyInstaller freezes this script as `flinks-desktop`).

`flinks-desktop --self-test` runs the installation's self-test (flinks_desktop.self_test) and exits
with its status; anything else is the `flinks-desktop` command, desktop app and subcommands alike.
"""

import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["--self-test"]:
        if len(argv) > 1:
            print("flinks-desktop: error: --self-test takes nothing else", file=sys.stderr)
            return 2
        from flinks_desktop import self_test

        return self_test.run()
    from flinks_desktop.launch import main as command

    return command(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
