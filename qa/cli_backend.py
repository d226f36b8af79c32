"""`--backend`, `--uri` and `--token`: which index backend the `qa` commands and the web chat
open, so one flag set (and one set of environment defaults) works everywhere.

    --backend local  --archive DIR            (the default: SQLite + FTS5 + FAISS in DIR)
    --backend milvus --uri ./archive.db        (an embedded milvus-lite file)
    --backend milvus --uri http://host:19530   (a Milvus server or cluster; --token or
                                               $QA_MILVUS_TOKEN, never printed)

Defaults come from `$QA_BACKEND`, `$QA_URI` and `$QA_MILVUS_TOKEN`. Only argparse and os are
imported here, so `qa --help` stays instant.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

BACKEND_ENV = "QA_BACKEND"
URI_ENV = "QA_URI"
TOKEN_ENV = "QA_MILVUS_TOKEN"
BACKEND_CHOICES = ("local", "milvus")


def add_backend_args(p: argparse.ArgumentParser) -> None:
    """Add `--backend`, `--uri` and `--token` to `p` (defaults resolved at open time, so the
    environment is read when the command runs, not when the parser is built)."""
    p.add_argument("--backend", choices=BACKEND_CHOICES, default=None,
                   help=f"index backend (default: ${BACKEND_ENV}, else local); milvus needs "
                        f"pip install 'archive-qa[milvus]'")
    p.add_argument("--uri", default=None, metavar="URI",
                   help=f"milvus: an archive file ending in .db (milvus-lite) or http://host:19530 "
                        f"(default: ${URI_ENV}); local: same as --archive")
    # the default is not shown (nor stored in the parser): a token must never be printed
    p.add_argument("--token", default=None, help=f"Milvus server token, user:password or API key "
                                                 f"(default: ${TOKEN_ENV})")


def backend_kind(args: argparse.Namespace) -> str:
    """The backend asked for: `--backend`, else `$QA_BACKEND`, else "local"."""
    kind = getattr(args, "backend", None) or os.environ.get(BACKEND_ENV) or "local"
    if kind not in BACKEND_CHOICES:
        raise ValueError(f"unknown index backend {kind!r} (from ${BACKEND_ENV}); choose one of {', '.join(BACKEND_CHOICES)}")
    return kind


def backend_location(args: argparse.Namespace, default_dir: str = "archive") -> str:
    """Where the archive is: local: `--archive`, `--uri`, `$QA_ARCHIVE`, `$QA_URI`, else
    `default_dir`; milvus: `--uri`, else `$QA_URI` (required: a file or a server URI)."""
    kind = backend_kind(args)
    uri = getattr(args, "uri", None)
    if kind == "local":
        return (getattr(args, "archive", None) or uri or os.environ.get("QA_ARCHIVE")
                or os.environ.get(URI_ENV) or default_dir)
    uri = uri or os.environ.get(URI_ENV)
    if not uri:
        raise ValueError(f"the milvus backend needs --uri (or ${URI_ENV}): a file ending in .db for an embedded "
                         f"milvus-lite archive, or http://host:19530 for a Milvus server")
    return uri


def open_args(args: argparse.Namespace, *, model: str | None = None, create: bool = True,
              default_dir: str = "archive", **options: Any):
    """`Archive.open` for the backend, location and token in `args` (see the module doc)."""
    from .archive import Archive

    kind = backend_kind(args)
    location = backend_location(args, default_dir)
    if kind == "local":
        return Archive.open(location, model=model, create=create, **options)
    if not create and location.endswith(".db") and "://" not in location and not os.path.exists(location):
        raise FileNotFoundError(f"no milvus-lite archive {location} (ingest into it first)")
    quiet_milvus_logs(getattr(args, "verbose", False))
    token = getattr(args, "token", None) or os.environ.get(TOKEN_ENV) or ""
    if token:
        options["token"] = token
    return Archive.open(None, model=model, backend=kind, uri=location, create=create, **options)


def quiet_milvus_logs(verbose: bool = False) -> None:
    """milvus-lite 3.2.2 logs a traceback for every call of a gRPC method it lacks
    (`AllocTimestamp`, harmless: pymilvus falls back), and a traceback for a file another
    process holds (our QAError says it in one line); pymilvus logs every failed call, also
    the ones we expect and handle (two workers racing to create a collection); gRPC's core logs keepalive notices. A
    command's output is ours alone unless -v."""
    import logging

    if not verbose:
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")
        for name in ("grpc._server", "milvus_lite", "pymilvus.decorators"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
