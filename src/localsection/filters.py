"""The `filter` query language of search_tasks, get_costs and get_costs_total (PROTOCOL.md §5), compiled to SQL.

Each action declares its own fields; the text is parsed by a lark LALR grammar and turned into one SQLAlchemy
boolean expression, so filtering always happens in the database.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from sqlalchemy import ColumnElement, and_, false, or_

from localsection import errors
from localsection.errors import ApiError
from localsection.formats import is_digits, strict

Kind = Literal["int", "str", "date", "datetime"]


@dataclass(frozen=True)
class Field:
    """A filterable field: its type and the SQL column it compiles to ("str" columns must be case-folded)."""

    kind: Kind
    column: Any


# Keywords are string terminals, so lark only takes them in their exact lowercase spelling; `HAS` or `AND`
# lexes as a field name and is then rejected by the parser at its position.
_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: _primary (_AND _primary)*
_primary: _LPAR or_expr _RPAR | condition
?condition: FIELD OP value                               -> compare
          | FIELD _HAS value                             -> has
          | FIELD _IN _LPAR value (_COMMA value)* _RPAR  -> in_list
?value: INT | STRING | BARE_DATE

_OR: "or"
_AND: "and"
_IN: "in"
_HAS: "has"
_LPAR: "("
_RPAR: ")"
_COMMA: ","
OP: /!\s*=/ | ">=" | "<=" | "=" | ">" | "<"
BARE_DATE.2: /\d{1,2}\.\d{1,2}\.\d{4}/ | /\d{4}-\d{1,2}-\d{1,2}/
INT: /\d+/
STRING: /'(?:[^'\\]|\\.)*'/ | /"(?:[^"\\]|\\.)*"/
FIELD: /[A-Za-z_][A-Za-z0-9_]*/

%import common.WS
%ignore WS
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=False, maybe_placeholders=False)
# lark builds its per-state scanners lazily on first use; parsing is microseconds, so serialise it.
_PARSE_LOCK = threading.Lock()
_ESCAPE = re.compile(r"\\(.)", re.S)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.S)
_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_INT_MAX = 2**63 - 1
# Size bounds (docs/security.md). Real filters hold a handful of conditions; these limits sit far above that and
# far below what the databases refuse: SQLite parses `a or b or ...` into a tree one level deeper per operator
# and gives up at 1000 levels ("Expression tree is too large"), PostgreSQL at its max_stack_depth. A condition
# compiles to at most four SQL operators (date `!=`), so 200 conditions stay under ~250 levels with the rest of
# the query's WHERE clause.
MAX_LENGTH = 10_000  # characters
MAX_DEPTH = 32  # nested parentheses
MAX_CONDITIONS = 200  # field comparisons in one filter
MAX_IN_VALUES = 1_000  # values in all `in (...)` lists together (each one is a bind parameter)


def invalid(message: str) -> ApiError:
    """11 Filter is invalid, with a short message pointing at the problem."""
    return errors.filter_invalid(message)


def compile_filter(text: str, fields: Mapping[str, Field], tz: ZoneInfo) -> ColumnElement[bool]:
    """Parse `text` and compile it against `fields`; any problem raises 11 Filter is invalid."""
    if len(text) > MAX_LENGTH:
        raise invalid(f"filter is longer than {MAX_LENGTH} characters")
    if _nesting(text) > MAX_DEPTH:
        raise invalid(f"more than {MAX_DEPTH} nested parentheses")
    try:
        with _PARSE_LOCK:
            tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise invalid(_syntax_message(exc, text)) from None
    except LarkError as exc:  # pragma: no cover - lark raises UnexpectedInput for every input error
        raise invalid(str(exc).splitlines()[0]) from None
    _check_size(tree)
    return _Compiler(fields, tz).node(tree)


def _check_size(tree: Tree[Token]) -> None:
    """Refuse a parse tree with more conditions or `in` values than the limits, before any SQL is built.

    Iterative, so the walk itself has no recursion to exhaust whatever the shape of the tree.
    """
    conditions = values = 0
    stack: list[Tree[Token] | Token] = [tree]
    while stack:
        node = stack.pop()
        if not isinstance(node, Tree):
            continue
        if node.data in ("or_expr", "and_expr"):
            stack.extend(node.children)
            continue
        conditions += 1
        if node.data == "in_list":
            values += len(node.children) - 1
        if conditions > MAX_CONDITIONS:
            raise invalid(f"more than {MAX_CONDITIONS} conditions")
        if values > MAX_IN_VALUES:
            raise invalid(f"more than {MAX_IN_VALUES} values in 'in' lists")


def _nesting(text: str) -> int:
    """Parenthesis depth outside quoted strings (it guards the recursion of the compiler; a search for a name
    full of parentheses is not nested)."""
    depth = deepest = 0
    for ch in _QUOTED.sub("''", text):
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth = max(0, depth - 1)
    return deepest


def _syntax_message(exc: UnexpectedInput, text: str) -> str:
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        return "unexpected end of filter" if text.strip() else "filter is empty"
    if isinstance(exc, UnexpectedToken):
        return f"unexpected '{exc.token}' at column {exc.column}"
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        ch = text[pos] if 0 <= pos < len(text) else "?"
        if ch in "'\"":
            return f"unterminated string at column {exc.column}"
        return f"unexpected '{ch}' at column {exc.column}"
    return "syntax error"  # pragma: no cover


class _Compiler:
    """Walks the parse tree, checks each field/operator/value and builds the SQL expression."""

    def __init__(self, fields: Mapping[str, Field], tz: ZoneInfo) -> None:
        self.fields = fields
        self.tz = tz

    def node(self, tree: Tree[Token] | Token) -> ColumnElement[bool]:
        assert isinstance(tree, Tree)
        if tree.data == "or_expr":
            return or_(*(self.node(child) for child in tree.children))
        if tree.data == "and_expr":
            return and_(*(self.node(child) for child in tree.children))
        name_tok = tree.children[0]
        assert isinstance(name_tok, Token)
        field = self.field(name_tok)
        values = [c for c in tree.children[1:] if isinstance(c, Token) and c.type != "OP"]
        if tree.data == "in_list":
            return self.in_list(name_tok, field, values)
        if tree.data == "has":
            return self.has(name_tok, field, values[0])
        op_tok = tree.children[1]
        assert isinstance(op_tok, Token)
        return self.compare(name_tok, field, _op(op_tok), values[0])

    def field(self, tok: Token) -> Field:
        field = self.fields.get(str(tok))
        if field is None:
            raise invalid(f"unknown field '{tok}' at column {tok.column}")
        return field

    def in_list(self, name: Token, field: Field, values: list[Token]) -> ColumnElement[bool]:
        if field.kind != "int":
            raise _operator_error("in", name)
        ids = sorted({_int(name, v) for v in values})
        return field.column.in_(ids)  # type: ignore[no-any-return]

    def has(self, name: Token, field: Field, value: Token) -> ColumnElement[bool]:
        if field.kind != "str":
            raise _operator_error("has", name)
        needle = _string(name, value).casefold()
        if needle == "":
            return field.column.is_not(None)  # type: ignore[no-any-return]
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return field.column.like(pattern, escape="\\")  # type: ignore[no-any-return]

    def compare(self, name: Token, field: Field, op: str, value: Token) -> ColumnElement[bool]:
        if field.kind == "int":
            if op != "=":
                raise _operator_error(op, name)
            return field.column == _int(name, value)  # type: ignore[no-any-return]
        if field.kind == "str":
            if op != "=":
                raise _operator_error(op, name)
            return field.column == _string(name, value).casefold()  # type: ignore[no-any-return]
        day = _date(name, value)
        try:
            if field.kind == "date":
                return _date_compare(field.column, op, day, day + dt.timedelta(days=1))
            return _date_compare(field.column, op, self.day_start(day), self.day_start(day + dt.timedelta(days=1)))
        except OverflowError:
            # The day after 31.12.9999, or a local midnight of year 1 or 9999 that falls outside it in UTC.
            raise invalid(f"date {value} is out of range for '{name}' at column {value.column}") from None

    def day_start(self, day: dt.date) -> dt.datetime:
        """Local midnight of `day` in the account zone, as the naive UTC timestamp the rows are stored in."""
        local = dt.datetime.combine(day, dt.time(), tzinfo=self.tz)
        return local.astimezone(dt.UTC).replace(tzinfo=None)


def _date_compare(column: Any, op: str, start: Any, end: Any) -> ColumnElement[bool]:
    """Compare the calendar day [start, end) so that an index on the column is usable; NULL never matches."""
    if op == "=":
        return and_(column >= start, column < end)
    if op == "!=":
        return and_(column.is_not(None), or_(column < start, column >= end))
    if op == ">":
        return column >= end  # type: ignore[no-any-return]
    if op == ">=":
        return column >= start  # type: ignore[no-any-return]
    if op == "<":
        return column < start  # type: ignore[no-any-return]
    if op == "<=":
        return column < end  # type: ignore[no-any-return]
    return false()  # pragma: no cover - the grammar admits no other operator


def _op(tok: Token) -> str:
    text = str(tok)
    return "!=" if text.startswith("!") else text


def _operator_error(op: str, name: Token) -> ApiError:
    return invalid(f"operator '{op}' is not allowed for '{name}' at column {name.column}")


def _unquote(value: Token) -> str:
    return _ESCAPE.sub(r"\1", str(value)[1:-1])


def _int(name: Token, value: Token) -> int:
    text = _unquote(value).strip() if value.type == "STRING" else str(value)
    if not is_digits(text) or int(text) > _INT_MAX:
        raise invalid(f"'{name}' expects an integer, got {value} at column {value.column}")
    return int(text)


def _string(name: Token, value: Token) -> str:
    if value.type != "STRING":
        raise invalid(f"'{name}' expects a quoted string, got {value} at column {value.column}")
    return _unquote(value)


def _date(name: Token, value: Token) -> dt.date:
    if value.type != "STRING":
        raise invalid(f"date must be quoted: {value} at column {value.column}")
    text = _unquote(value).strip()
    m = _DMY.match(text)
    parts = (m.group(3), m.group(2), m.group(1)) if m else None
    if parts is None and not strict():  # realistic mode: the protocol's 'DD.MM.YYYY' only
        m = _ISO.match(text)
        parts = (m.group(1), m.group(2), m.group(3)) if m else None
    try:
        if parts is not None:
            return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        pass
    raise invalid(f"invalid date {value} for '{name}' at column {value.column}")
