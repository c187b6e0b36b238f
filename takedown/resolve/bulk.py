"""Writing many rows at once, cheaply.

Django's bulk_update builds one CASE WHEN expression per row and field, which costs more Python
than the lookups it records (about 40 % of resolving a batch of hosts), and an UPDATE per row
costs the database a statement each. `update_each` and `update_matching` send one UPDATE ...
FROM (a table of the rows) per chunk of rows instead, and `insert_returning` one INSERT.

The rechecks write a row and update a link per check, thousands a minute, and there even
preparing each value through its field (bulk_create's way) cost more Python than fetching the
image: these functions hand plain values (text, numbers, booleans, ids) to the driver as they
are and prepare only the others (dates, JSON, addresses) through their fields, so they behave
like the ORM on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models, router


def column_field(model: type[models.Model], name: str) -> tuple[models.Field[Any, Any], str]:
    """The field `name` of `model` and its column: raw SQL can only name concrete fields."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise FieldDoesNotExist(f"{model.__name__}.{name} has no column of its own")
    return field, field.column


def update_each(
    model: type[models.Model],
    field_names: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    still_null: Sequence[str] = (),
) -> int:
    """UPDATE `model` SET each of `field_names` WHERE pk = row[0], from row[1:], for every
    row (only while the columns of `still_null` are NULL); returns how many rows changed.
    Use inside transaction.atomic() when the rows must change together."""
    return len(_update_rows(model, None, field_names, rows, still_null))


# Fields whose Python values the database drivers take as they are (a str, an int, a bool,
# None; a foreign key's id): their get_db_prep_save only checks and returns them. By exact
# class: a subclass may prepare its values (crypto.EncryptedTextField is a TextField that
# encrypts), and goes through its own preparation.
_PLAIN: Final = frozenset(
    {
        models.CharField,
        models.TextField,
        models.BooleanField,
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.PositiveSmallIntegerField,
        models.ForeignKey,
    }
)


def _preparers(
    fields: Sequence[models.Field[Any, Any]], connection: Any
) -> list[Callable[[Any], Any] | None]:
    """Per field: None when values go to the driver as they are, else the field's preparation."""

    def prepare(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
        return lambda value: field.get_db_prep_save(value, connection)

    return [None if type(field) in _PLAIN else prepare(field) for field in fields]


def _prepared(row: Sequence[Any], preparers: Sequence[Callable[[Any], Any] | None]) -> list[Any]:
    return [
        value if prep is None or value is None else prep(value)
        for value, prep in zip(row, preparers, strict=True)
    ]


def _rows_per_statement(columns: int, connection: Any) -> int:
    most = connection.features.max_query_params  # SQLite: 999 per statement; PostgreSQL: None
    return max(1, most // columns) if most else 5000


def _table_of(
    fields: Sequence[models.Field[Any, Any]],
    rows: Sequence[Sequence[Any]],
    preparers: Sequence[Callable[[Any], Any] | None],
    connection: Any,
) -> tuple[str, list[Any]]:
    """SQL for a table of `rows` (one column per field) and its parameters.

    On PostgreSQL an array per column, unnested: one short statement text however many rows.
    psycopg turns the placeholders of every statement text it has not seen into its own, in
    Python, and for a VALUES list of a few thousand rows that cost more than the rows did.
    Elsewhere (SQLite) a VALUES list, whose columns the database names column1, column2 ..."""
    prepared = [_prepared(row, preparers) for row in rows]
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in fields)
        columns = [list(column) for column in zip(*prepared, strict=True)]
        return f"SELECT * FROM unnest({arrays})", columns  # noqa: S608 - column types only
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return "VALUES " + ", ".join([placeholders] * len(rows)), [v for row in prepared for v in row]


def insert_returning(
    model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """INSERT one `model` row per entry of `rows` (values in the order of `field_names`, a
    foreign key by its id) and return their primary keys in the order of `rows`."""
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    fields = [column_field(model, name) for name in field_names]
    preparers = _preparers([field for field, _ in fields], connection)
    quote = connection.ops.quote_name
    pk_column = quote(column_field(model, model._meta.pk.name)[1])
    into = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for _, c in fields)})"
    step = _rows_per_statement(len(fields), connection)
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), step):
            table, params = _table_of(
                [field for field, _ in fields], rows[start : start + step], preparers, connection
            )
            # Only quoted model names go into the text; every value is a parameter.
            cursor.execute(f"{into} {table} RETURNING {pk_column}", params)
            # Both databases return the ids of a multi-row INSERT in the order of its rows
            # (Django's bulk_create relies on the same).
            ids.extend(pk for (pk,) in cursor.fetchall())
    return ids


def update_matching(
    model: type[models.Model],
    field_names: Sequence[str],
    match: str,
    rows: Sequence[Sequence[Any]],
) -> int:
    """For each row (pk, value of `match`, *values of `field_names`): UPDATE the `model` row
    with that pk, only while its column `match` still holds that value (not NULL), setting
    `field_names`. Returns how many rows changed. Use inside transaction.atomic()."""
    return len(_update_rows(model, match, field_names, rows))


def update_matching_ids(
    model: type[models.Model],
    field_names: Sequence[str],
    match: str,
    rows: Sequence[Sequence[Any]],
) -> list[int]:
    """update_matching, returning the primary keys of the rows it changed."""
    return _update_rows(model, match, field_names, rows)


def _update_rows(
    model: type[models.Model],
    match: str | None,
    field_names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    still_null: Sequence[str] = (),
) -> list[int]:
    """One UPDATE ... FROM (a table of the rows) per chunk of rows: each row (pk, [value of
    `match`,] *values of `field_names`) sets its fields where the pk is the row's (and `match`
    still holds the row's value, and the columns of `still_null` are NULL). The pks of the rows
    changed (both databases: UPDATE ... RETURNING, SQLite since 3.35)."""
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    keys = [model._meta.pk.name, *([match] if match else [])]
    fields = [column_field(model, name) for name in [*keys, *field_names]]
    preparers = _preparers([field for field, _ in fields], connection)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [quote(column) for _, column in fields]
    if connection.vendor == "postgresql":
        aliases = [f"v{index}" for index in range(len(fields))]
        named = f"new ({', '.join(aliases)})"
    else:  # SQLite takes no column names after the alias (nor counts a WITH ... UPDATE)
        aliases = [f"column{index + 1}" for index in range(len(fields))]
        named = "new"
    assignments = ", ".join(
        f"{column} = new.{alias}"
        for column, alias in zip(columns[len(keys) :], aliases[len(keys) :], strict=True)
    )
    conditions = [
        f"{table}.{column} = new.{alias}"
        for column, alias in zip(columns[: len(keys)], aliases[: len(keys)], strict=True)
    ]
    conditions += [f"{table}.{quote(column_field(model, name)[1])} IS NULL" for name in still_null]
    step = _rows_per_statement(len(fields), connection)
    changed: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), step):
            values, params = _table_of(
                [field for field, _ in fields], rows[start : start + step], preparers, connection
            )
            # Only quoted model names and aliases go into the text; every value is a parameter.
            sql = (
                f"UPDATE {table} SET {assignments} FROM ({values}) AS {named} "  # noqa: S608
                f"WHERE {' AND '.join(conditions)} RETURNING {table}.{columns[0]}"
            )
            cursor.execute(sql, params)
            changed.extend(pk for (pk,) in cursor.fetchall())
    return changed
