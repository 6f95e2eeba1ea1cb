"""Where the station leaves a trace: stderr for the person at the terminal, and a rotating file in
the data dir (`logs/station.log`) for whoever is asked about it a week later.

- stderr gets warnings and errors as one line each, `station COMMAND: message`;
- the file gets everything from INFO up, with time, thread and logger, and every traceback;
- an exception nobody caught (`sys.excepthook`, and `threading.excepthook` for worker threads)
  is logged with its traceback before the process or thread dies.

No Qt here: the window adds its Qt message handler and its dialog on top (station.ui.crash).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
from pathlib import Path

from station.core.redact import MaskingFormatter, mask
from station.core.terminal import safe

LOG_NAME = "station.log"
MAX_BYTES = 2_000_000
BACKUPS = 5  # about 12 MB at most: a shop PC's disk is not the log's to fill

_file_path: Path | None = None


class _OneLine(logging.Formatter):
    """stderr: `station run: message`; a traceback stays in the file."""

    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage().splitlines()[0] if record.getMessage() else ""
        if record.exc_info and record.levelno >= logging.ERROR:
            exc = record.exc_info[1]
            text = f"{text} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; details in {_file_path or 'the log'})"
        return safe(mask(f"station {self.command}: {text}"))


class _QuietFile(logging.handlers.RotatingFileHandler):
    """The log file, which gives up quietly when it cannot be written: on a full disk logging's
    default prints a traceback to stderr for every record, which is the one thing stderr must
    not show (the warnings still reach stderr through the other handler)."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


def setup(data: str | os.PathLike[str] | None, command: str = "", verbose: bool = False) -> Path | None:
    """Configure the `station` logger once per process. Returns the log file's path, or None when
    the data dir cannot hold one (a read-only disk must not stop inspection)."""
    global _file_path
    root = logging.getLogger("station")
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.INFO if verbose else logging.WARNING)
    err.setFormatter(_OneLine(command))
    root.addHandler(err)
    _file_path = None
    try:
        path = file_for(data)
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = _QuietFile(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True)
        fh.setLevel(logging.DEBUG if verbose else logging.INFO)
        fh.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"))
        root.addHandler(fh)
        _file_path = path
    except Exception:  # noqa: BLE001 (no data dir, read-only disk: stderr alone still works)
        pass
    _install_hooks()
    return _file_path


def log_path() -> Path | None:
    return _file_path


def file_for(data: str | os.PathLike[str] | None) -> Path:
    """Where a station on this data dir logs (DATA/logs/station.log)."""
    from station.core import config
    return config.data_dir(data) / "logs" / LOG_NAME


def _install_hooks() -> None:
    log = logging.getLogger("station.crash")

    def on_uncaught(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.critical("uncaught exception", exc_info=(exc_type, exc, tb))

    def on_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread else "?"
        log.critical("uncaught exception in thread %s", name, exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    sys.excepthook = on_uncaught
    threading.excepthook = on_thread


def bug(log: logging.Logger, message: str) -> None:
    """Log the exception being handled as a bug: its traceback goes to the file, one line to stderr."""
    log.error(message, exc_info=True)
