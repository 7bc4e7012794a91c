"""XLSForm's expression language, compiled to DuckDB SQL for a documented subset.

The subset: `.` (the question's own answer), `${name}`, numbers and quoted strings,
comparisons (`= != < <= > >=`), `and`, `or`, `not(...)`, arithmetic (`+ - * div mod`,
unary minus), parentheses, and the functions `selected(x, 'code')`, `count-selected(x)`,
`string-length(x)`, `regex(x, 'pattern')` and `if(condition, then, else)`.

A cell is text in the staged table and NULL when empty. As in ODK, an empty answer is the
empty string to text functions, zero selections to `count-selected`, and not a number to
arithmetic; a comparison with an empty number is false. Every boolean the compiler writes
is true or false, never NULL, so that a predicate built from it never is either. Anything
outside the subset raises `UnsupportedExpression` naming what and where.
"""

import re
from dataclasses import dataclass, field

from schemas.predicates import has_text, literal, names_code, number_of, quoted

NUMERIC_KINDS = {"integer", "decimal"}
FUNCTIONS = ("selected", "count-selected", "string-length", "regex", "if", "not")


class UnsupportedExpression(ValueError):
    """An expression outside the subset, or naming a question the form does not have."""


_TOKEN = re.compile(r"""
    \s*(?:
      (?P<number>\d+(?:\.\d*)?|\.\d+)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<reference>\$\{[A-Za-z_][A-Za-z0-9_.-]*\})
    | (?P<operator><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)
    | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
    | (?P<dot>\.)
    )""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens, position = [], 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise UnsupportedExpression(f"'{text[position:].strip()[:20]}' at character {position + 1} is not part "
                                        "of the supported expression language")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


@dataclass
class Compiled:
    """An expression as SQL, whether it is a number, a boolean or text, and the questions it reads."""

    sql: str
    type: str  # "number", "boolean" or "text"
    reads: set[str] = field(default_factory=set)
    # Set when the SQL is a staged cell itself (text, NULL when empty), with its question's kind.
    cell_kind: str | None = None


@dataclass
class _Parser:
    text: str
    tokens: list
    own: str | None
    kinds: dict[str, str]
    position: int = 0

    def peek(self, *values: str) -> bool:
        if self.position >= len(self.tokens):
            return False
        kind, value, _ = self.tokens[self.position]
        return value in values and kind in ("operator", "word")

    def take(self):
        if self.position >= len(self.tokens):
            raise UnsupportedExpression("the expression ends too early")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expect(self, value: str) -> None:
        kind, got, at = self.take()
        if got != value:
            raise UnsupportedExpression(f"expected '{value}' at character {at + 1}, found '{got}'")

    def expression(self) -> Compiled:
        return self.disjunction()

    def disjunction(self) -> Compiled:
        return self.logical("or", self.conjunction)

    def conjunction(self) -> Compiled:
        return self.logical("and", self.comparison)

    def logical(self, operator: str, operand) -> Compiled:
        """`operand (operator operand)*`, each operand taken as a condition."""
        left = operand()
        while self.peek(operator):
            self.take()
            right = operand()
            left = Compiled(f"({_truth(left)} {operator} {_truth(right)})", "boolean", left.reads | right.reads)
        return left

    def comparison(self) -> Compiled:
        left = self.sum()
        if self.peek("=", "!=", "<", "<=", ">", ">="):
            operator = self.take()[1]
            right = self.sum()
            numeric = "number" in (left.type, right.type)
            a, b = (_number(left), _number(right)) if numeric else (_text(left), _text(right))
            sql_operator = "<>" if operator == "!=" else operator
            return Compiled(f"coalesce({a} {sql_operator} {b}, false)", "boolean", left.reads | right.reads)
        return left

    def sum(self) -> Compiled:
        left = self.product()
        while self.peek("+", "-"):
            operator = self.take()[1]
            right = self.product()
            left = Compiled(f"({_number(left)} {operator} {_number(right)})", "number", left.reads | right.reads)
        return left

    def product(self) -> Compiled:
        left = self.unary()
        while self.peek("*", "div", "mod"):
            operator = {"*": "*", "div": "/", "mod": "%"}[self.take()[1]]
            right = self.unary()
            divisor = _number(right)
            if operator != "*":
                divisor = f"nullif({divisor}, 0)"
            left = Compiled(f"({_number(left)} {operator} {divisor})", "number", left.reads | right.reads)
        return left

    def unary(self) -> Compiled:
        if self.peek("-"):
            self.take()
            inner = self.unary()
            return Compiled(f"(- {_number(inner)})", "number", inner.reads)
        return self.primary()

    def primary(self) -> Compiled:
        kind, value, at = self.take()
        if kind == "number":
            return Compiled(value if not value.startswith(".") else "0" + value, "number")
        if kind == "string":
            return Compiled(literal(value[1:-1]), "text")
        if kind == "dot":
            if self.own is None:
                raise UnsupportedExpression(f"'.' at character {at + 1} stands for the question's own answer, "
                                            "which this column has none of")
            return self._question(self.own)
        if kind == "reference":
            name = value[2:-1]
            if name not in self.kinds:
                raise UnsupportedExpression(f"${{{name}}} names no question of the form")
            return self._question(name)
        if kind == "operator" and value == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if kind == "word" and self.peek("("):
            return self.call(value, at)
        raise UnsupportedExpression(f"'{value}' at character {at + 1} is not part of the supported expression "
                                    f"language (functions: {', '.join(FUNCTIONS)})")

    def _question(self, name: str) -> Compiled:
        kind = self.kinds[name]
        return Compiled(quoted(name), "number" if kind in NUMERIC_KINDS else "text", {name}, kind)

    def call(self, name: str, at: int) -> Compiled:
        if name not in FUNCTIONS:
            raise UnsupportedExpression(f"the function {name}() at character {at + 1} is not supported "
                                        f"(supported: {', '.join(FUNCTIONS)})")
        self.expect("(")
        arguments = [self.expression()]
        while self.peek(","):
            self.take()
            arguments.append(self.expression())
        self.expect(")")
        wanted = {"selected": 2, "count-selected": 1, "string-length": 1, "regex": 2, "if": 3, "not": 1}[name]
        if len(arguments) != wanted:
            raise UnsupportedExpression(f"{name}() takes {wanted} argument(s), not {len(arguments)}")
        reads = set().union(*(argument.reads for argument in arguments))
        if name == "not":
            return Compiled(f"(not {_truth(arguments[0])})", "boolean", reads)
        if name == "selected":
            cell, code = arguments
            choice = _quoted(code, "selected() takes a quoted choice name as its second argument")
            return Compiled(names_code(cell.sql, choice[1:-1].replace("''", "'")), "boolean", reads)
        if name == "count-selected":
            cell = arguments[0].sql
            return Compiled(f"(case when {has_text(cell)} then len(string_split_regex(trim({cell}), '\\s+')) "
                            "else 0 end)", "number", reads)
        if name == "string-length":
            return Compiled(f"length({_text(arguments[0])})", "number", reads)
        if name == "regex":
            subject, pattern = arguments
            pattern_sql = _quoted(pattern, "regex() takes a quoted pattern as its second argument")
            return Compiled(f"coalesce(regexp_matches({_text(subject)}, {pattern_sql}), false)", "boolean", reads)
        condition, then, otherwise = arguments
        result_type = then.type if then.type == otherwise.type else "text"
        render = {"number": _number, "boolean": _truth}.get(result_type, _text)
        return Compiled(f"(case when {_truth(condition)} then {render(then)} else {render(otherwise)} end)",
                        result_type, reads)


def _number(value: Compiled) -> str:
    if value.cell_kind:
        return number_of(value.sql)
    if value.type == "text":
        return f"try_cast({value.sql} as double)"
    if value.type == "boolean":
        return f"(case when {value.sql} then 1 else 0 end)"
    return value.sql


def _quoted(argument: Compiled, refusal: str) -> str:
    """The SQL of an argument that must be a string literal (a choice name, a pattern), else the refusal."""
    if not argument.sql.startswith("'"):
        raise UnsupportedExpression(refusal)
    return argument.sql


def _text(value: Compiled) -> str:
    if value.type == "boolean":
        return f"(case when {value.sql} then 'true' else 'false' end)"
    if value.cell_kind:
        return f"coalesce({value.sql}, '')"
    return value.sql if value.type == "text" else f"cast({value.sql} as varchar)"


def _truth(value: Compiled) -> str:
    if value.type == "boolean":
        return value.sql
    if value.type == "number":
        return f"coalesce({_number(value)} <> 0, false)"
    return f"({_text(value)} <> '')"


def compile_expression(text: str, kinds: dict[str, str], own: str | None = None) -> Compiled:
    """The expression as a SQL boolean (true or false, never NULL), or as a value for `if`'s branches.

    `kinds` maps each question of the form to its kind; `own` is the question `.` stands for.
    """
    tokens = _tokens(text)
    if not tokens:
        raise UnsupportedExpression("the expression is empty")
    parser = _Parser(text, tokens, own, kinds)
    compiled = parser.expression()
    if parser.position != len(tokens):
        _, value, at = tokens[parser.position]
        raise UnsupportedExpression(f"'{value}' at character {at + 1} does not continue the expression")
    return compiled


def condition(text: str, kinds: dict[str, str], own: str | None = None) -> Compiled:
    """The expression as a condition: SQL that is true or false, never NULL."""
    compiled = compile_expression(text, kinds, own)
    return Compiled(_truth(compiled), "boolean", compiled.reads)
