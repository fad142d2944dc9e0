"""Opening the results database and bringing its schema up to date.

Any SQLAlchemy URL works (``sqlite:///path/formcheck.db`` by default,
``postgresql+psycopg://...`` for a club server). The schema is versioned by
Alembic; its scripts ship inside this package (``formcheck.store:migrations``),
so :func:`open_store` works from an installed formcheck with no ``alembic.ini``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from formcheck.errors import FormcheckError

DB_FILE = "formcheck.db"
"""Default database file name inside the output folder."""
SCRIPT_LOCATION = "formcheck.store:migrations"
HEAD = "head"


class StoreError(FormcheckError):
    """The results database cannot be opened, migrated or written."""


@dataclass(frozen=True)
class Store:
    """An open results database.

    Attributes
    ----------
    engine : sqlalchemy.Engine
        The engine.
    sessions : sqlalchemy.orm.sessionmaker
        Makes ORM sessions bound to ``engine``.
    """

    engine: Engine
    sessions: sessionmaker[Session]

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()


def default_url(out_dir: str | Path) -> str:
    """The SQLite URL of the default database file in an output folder.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The batch output folder.

    Returns
    -------
    str
        ``sqlite:///<absolute path>/formcheck.db``.
    """
    return f"sqlite:///{(Path(out_dir).resolve() / DB_FILE).as_posix()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = HEAD) -> None:
    """Migrate the database schema to ``revision`` (the newest by default).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The database.
    revision : str
        Alembic revision id, or ``"head"``.
    """
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None when never migrated).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The database.

    Returns
    -------
    str or None
        The Alembic revision id.
    """
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest schema revision this formcheck knows.

    Returns
    -------
    str
        The Alembic revision id.
    """
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
    if head is None:
        raise StoreError("formcheck's database migrations are missing; reinstall formcheck")
    return head


def _engine(url: str) -> Engine:
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"cannot use database URL {url!r}: {exc}. Give an SQLAlchemy URL such as "
            "sqlite:///squad.db or postgresql+psycopg://user@host/db"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open a results database, creating or upgrading its schema.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL.
    migrate : bool
        Upgrade the schema to the newest revision (True), or only check that
        it is already there (False, for read-only viewers).

    Returns
    -------
    Store
        The open database.

    Raises
    ------
    StoreError
        If the URL is invalid, the server unreachable, or the schema older
        than this formcheck while ``migrate`` is False.
    """
    engine = _engine(url)
    try:
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            Path(str(engine.url.database)).parent.mkdir(parents=True, exist_ok=True)
        if migrate:
            upgrade(engine)
        else:
            migrated = inspect(engine).has_table("alembic_version")
            have = current_revision(engine) if migrated else None
            if have != head_revision():
                raise StoreError(
                    f"the database {engine.url.render_as_string(hide_password=True)} holds no "
                    "formcheck results at this schema version; run 'formcheck batch' on it first"
                )
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(
            f"cannot open the database {engine.url.render_as_string(hide_password=True)}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        ) from exc
    except OSError as exc:
        engine.dispose()
        raise StoreError(f"cannot create the database file: {exc}") from exc
    return Store(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


__all__ = [
    "DB_FILE",
    "Store",
    "StoreError",
    "current_revision",
    "default_url",
    "head_revision",
    "open_store",
    "upgrade",
]
