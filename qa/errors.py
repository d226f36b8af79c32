"""The few named exceptions the core raises; the CLI and the app translate them into
one-line messages. Each message says what was wrong and what to do next."""

from __future__ import annotations


class QAError(Exception):
    """Base class: anything the user can fix, with a message meant for them."""


class BadInputError(QAError):
    """An input file or record that cannot be read (empty, binary, undecodable, invalid
    JSON, no text). Carries the path and, when known, the 1-based line."""

    def __init__(self, path: str, reason: str, line: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


class BadQueryError(QAError):
    """A question or search query that cannot be searched: empty, no letters or digits,
    too long, or not valid text (see `qa.textnorm.check_query`)."""


class EmptyQueryError(BadQueryError):
    """A question or search query with nothing to search for (empty, or only punctuation,
    symbols or emoji)."""


class ModelMismatchError(QAError):
    """The archive's vectors were made by another embedding model than the one asked for."""


class ArchiveClosedError(QAError):
    """The archive was used after `close()`."""


class NotFoundError(QAError, KeyError):
    """No article with that id."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "not found"


class ArchiveCorruptError(QAError):
    """The archive database file is damaged (SQLite reports it malformed, or not a
    database); nothing is written to it."""


class PipelineMismatchError(QAError):
    """Chunking settings asked for differ from the ones the archive was built with."""
