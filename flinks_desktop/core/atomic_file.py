"""Files written whole or not at all: the one way the app replaces a file it writes (the settings,
an export, a saved statement).

    with atomic_write(path, "w", encoding="utf-8") as file:
        file.write(text)

The content goes into a temporary file beside `path` (owner-only, 0600: what the app writes is the
user's bank data or settings), is flushed to disk, then renamed over `path` (`os.replace`). A
failure or a crash halfway leaves whatever was at `path` before, and the temporary file is removed;
the exception goes on to the caller. The flush to disk comes before the rename because some file
systems may otherwise persist the rename first, and a power cut would leave an empty file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_write(
    path: Path, mode: str = "wb", *, encoding: str | None = None, newline: str | None = None
) -> Iterator[IO[Any]]:
    """A file open for writing (`mode` "wb" or "w") that replaces `path` once the block ends."""
    import tempfile  # only when a file is written: not at start-up

    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(descriptor, mode, encoding=encoding, newline=newline) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
