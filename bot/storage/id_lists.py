"""``column IN <a list of ids>`` as one parameter, for lists of hundreds of ids.

SQLAlchemy's expanding ``IN`` renders one bound parameter per id at every execution: for
the deal planner's batches of up to 1,000 ids that was a tenth of its time (measured with
cProfile on 40,000 planned updates). :func:`in_ids` sends the list as one value instead:
a JSON array read by ``json_each`` on SQLite, an array compared with ``= ANY`` on
PostgreSQL; the statement's text is then the same whatever the list's length.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, String, bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnClause
from sqlalchemy.sql.sqltypes import NULLTYPE
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator


class IdList(TypeDecorator[Sequence[int]]):
    """A list of integer ids as one bound value: JSON text on SQLite, an array elsewhere."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(BigInteger))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Sequence[int] | None, dialect: Any) -> Any:
        ids = [int(i) for i in value or ()]
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class InIds(ColumnElement[bool]):
    """``column IN (ids)`` with the ids as one bound parameter (see :func:`in_ids`)."""

    inherit_cache = True
    # no Boolean type: SQLite would then be given "<condition> = 1", which no index serves
    type = NULLTYPE  # type: ignore[assignment]
    _traverse_internals = [  # SQLAlchemy's cache key reads it
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any] | ColumnClause[Any], name: str) -> None:
        self.column = column
        self.ids = bindparam(name, type_=IdList())


@compiles(InIds)
def _in_ids(element: InIds, compiler: Any, **kw: Any) -> str:
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids, **kw)
    return f"{column} IN (SELECT value FROM json_each({ids}))"  # noqa: S608 (SQL, no values)


@compiles(InIds, "postgresql")
def _in_ids_postgresql(element: InIds, compiler: Any, **kw: Any) -> str:
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids, **kw)
    return f"{column} = ANY({ids})"


def in_ids(column: ColumnElement[Any] | ColumnClause[Any], name: str) -> InIds:
    """``column IN :name``, where ``name`` is bound at execution to a list of ints."""
    return InIds(column, name)
