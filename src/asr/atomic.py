"""Files replaced whole, never seen half-written: by a run reading them while another writes them
(two runs preparing one split), by a second writer of the same file, or after a kill mid-write."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` (its folder made) for the block to write: when the block ends
    it replaces `path` in one rename, and if the block fails it is removed and `path` left as it
    was. The temporary's name holds the process id, so two processes writing one file at once each
    write their own and the last rename wins whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
