"""What a server leaves on disk: folders held by their process, swept at start when it is gone.

A process claims a folder with `hold(folder)`: a shared `fcntl.flock` on `folder/.owner`, which the
kernel releases when the process ends, however it ends (Ctrl-C, SIGTERM, `kill -9`). A folder
whose `.owner` nobody holds was left by a process that is gone, and `sweep` removes it; a folder
with no `.owner` was made by a process that never claims (a test suite, an older version) and is
removed only once untouched for UNCLAIMED_AGE. Several processes may hold one folder (a server
and its training child).

`app.py` calls `at_start()` before it imports Gradio: it claims this process's results folder
(`request.RESULTS_ROOT`), puts Gradio's cache inside it unless GRADIO_TEMP_DIR names one, sweeps
the results and training folders of servers that are gone, and makes SIGTERM end the server as
Ctrl-C does, so the results folder and Gradio's files go with it either way.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:          # Windows: no advisory locks in the standard library; nothing is swept
    fcntl = None

log = logging.getLogger(__name__)

OWNER = ".owner"
UNCLAIMED_AGE = 24 * 3600          # seconds untouched before an unclaimed folder is swept
#: The folders a FrameProphet server makes in the temporary folder (`tempfile.gettempdir()`).
SWEPT = ("frameprophet-results-*", "frameprophet-train-*")
_HELD: dict[Path, int] = {}        # folder -> the open descriptor that holds its lock


def hold(folder: str | os.PathLike) -> bool:
    """Claim `folder` for this process until it ends or `release(folder)`; False where locks
    are not available."""
    folder = Path(folder)
    if fcntl is None or folder in _HELD:
        return folder in _HELD
    fd = os.open(folder / OWNER, os.O_RDONLY | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_SH)     # shared: a server and its child may hold one folder
    _HELD[folder] = fd
    return True


def release(folder: str | os.PathLike) -> None:
    """Let go of a folder claimed with `hold` (before removing it)."""
    fd = _HELD.pop(Path(folder), None)
    if fd is not None:
        os.close(fd)


def held(folder: str | os.PathLike) -> bool | None:
    """Whether a live process holds `folder`; None when it was never claimed."""
    if fcntl is None:
        return True
    try:
        fd = os.open(Path(folder) / OWNER, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError:
        return True                    # not ours to judge
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)                   # closing drops the test lock too
    return False


def stale(folder: Path, unclaimed_age: float = UNCLAIMED_AGE) -> bool:
    """Left by a process that is gone (see the module docstring)."""
    claimed = held(folder)
    if claimed is None:
        try:
            return time.time() - folder.stat().st_mtime > unclaimed_age
        except OSError:
            return False
    return not claimed


def sweep(root: str | os.PathLike | None = None, patterns=SWEPT,
          unclaimed_age: float = UNCLAIMED_AGE) -> list[Path]:
    """Remove the stale folders matching `patterns` in `root` (default: the temporary folder);
    returns them."""
    root = Path(root or tempfile.gettempdir())
    gone = [folder for pattern in patterns for folder in sorted(root.glob(pattern))
            if folder.is_dir() and not folder.is_symlink() and folder not in _HELD
            and stale(folder, unclaimed_age)]
    for folder in gone:
        shutil.rmtree(folder, ignore_errors=True)
    if gone:
        log.info("removed %d folder(s) left by processes that are gone", len(gone))
    return gone


def sigterm_as_ctrl_c() -> None:
    """SIGTERM raises KeyboardInterrupt in the main thread, as Ctrl-C does: the server closes
    and the process exits through its clean-up (`atexit`, temporary folders)."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def leave(code: int = 0) -> None:
    """End a server that has closed: remove its results folder (Gradio's cache is inside), then
    exit without the interpreter's teardown. A warm-up thread may still be importing TensorFlow,
    and tearing the interpreter down under it crashed the process (SIGSEGV) after a clean close."""
    import shutil
    import sys

    from frameprophet.demo.request import RESULTS_ROOT

    shutil.rmtree(RESULTS_ROOT, ignore_errors=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def at_start() -> None:
    """A server's start: claim its results folder, keep Gradio's cache in it, sweep what gone
    servers left, and clean up on SIGTERM as on Ctrl-C (see the module docstring)."""
    from frameprophet.demo.request import RESULTS_ROOT

    RESULTS_ROOT.mkdir(parents=True, exist_ok=True)
    hold(RESULTS_ROOT)
    if not os.environ.get("GRADIO_TEMP_DIR"):
        os.environ["GRADIO_TEMP_DIR"] = str(RESULTS_ROOT / "gradio")
    sweep()
    sigterm_as_ctrl_c()
