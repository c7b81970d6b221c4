"""What every `gridgov` command shares: a domain error ends the command with its message and exit status 2
(no traceback, nothing written), and `cli_session()` is one transaction that does so."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session

from gis.errors import GridError


@contextmanager
def cli_errors() -> Iterator[None]:
    """Print a GridError's message (and the lines of a list detail) and exit 2."""
    try:
        yield
    except GridError as exc:
        typer.secho(f"错误 / error: {exc.message}", fg=typer.colors.RED, err=True)
        if isinstance(exc.detail, list):
            for line in exc.detail[:50]:
                typer.echo(f"  - {line}", err=True)
        raise typer.Exit(2) from exc


@contextmanager
def cli_session() -> Iterator[Session]:
    """One transaction on the configured database: committed at the end, rolled back on any error."""
    from gis.db import session_scope

    with cli_errors(), session_scope() as session:
        yield session
