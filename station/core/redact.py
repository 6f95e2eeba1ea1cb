"""One home for keeping credentials inside the process: a URL's `user:password@` is masked
before it is logged, stored, sent to a sink or shown (a camera's or a database's password was
in the log, the run rows and every MQTT verdict at 0.9.0)."""

from __future__ import annotations

import logging
import os
import re

from station.core.errors import StationError

# scheme://user:password@ -> scheme://user:***@ ; scheme://token@ -> scheme://***@
_WITH_PASSWORD = re.compile(r"(\b[A-Za-z][\w+.-]*://[^:/@\s]*:)[^@\s/]+@")
_USER_ONLY = re.compile(r"(\b[A-Za-z][\w+.-]*://)[^:/@\s]+@")


def mask(text: str) -> str:
    """`text` with every URL's password (or lone token) replaced by ***; the user name stays,
    so support can still tell which account was used."""
    return _USER_ONLY.sub(r"\1***@", _WITH_PASSWORD.sub(r"\1***@", text))


class MaskingFormatter(logging.Formatter):
    """A formatter whose output, tracebacks and exception texts included, is masked."""

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def from_environment(value: str, what: str) -> str:
    """`value` with each ${NAME} replaced by the environment's NAME: secrets stay out of files.
    A variable that is not set is one line naming it (never its would-be value)."""
    def one(m: re.Match[str]) -> str:
        found = os.environ.get(m.group(1))
        if found is None:
            raise StationError(f"{what} needs the environment variable {m.group(1)}, which is not set")
        return found

    return _VARIABLE.sub(one, value)
