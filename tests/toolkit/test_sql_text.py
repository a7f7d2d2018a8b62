"""The statement splitter, offsets and lines, and what a Statement knows of itself.

The splitter is checked against PostgreSQL's parser on SQL generated from a small grammar:
statements whose quotes, dollar quotes, ``BEGIN ATOMIC`` bodies and comments hold semicolons,
joined with random white space, blank lines, CRLF and comments.
"""

from __future__ import annotations

import pglast
import pglast.parser
from hypothesis import given, settings
from hypothesis import strategies as st
from pglast.stream import RawStream

from supamigrate.platform.extensions import ExtensionPolicy, created_extensions, is_vector_index
from supamigrate.sql.statement import COMMENT_TOKENS, Statement
from supamigrate.sql.text import SqlText, statements

# Few examples, no example database: the file runs in a few seconds and writes nothing.
FEW = settings(max_examples=60, deadline=None, database=None)

_CHARS = "ab ;'\"$-/*\t"
_word = st.text(alphabet="abcxyz", min_size=1, max_size=6)


def _quoted(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


_literal = st.text(alphabet=_CHARS + "\n", max_size=10).map(_quoted)
_dollar_body = st.text(alphabet="ab ;'\"-/*\n", max_size=10)  # no `$`: it cannot close the quote
_line_comment = st.text(alphabet="ab ;'\"$*/", max_size=10).map(lambda s: "--" + s)
_block_comment = st.text(alphabet="ab ;'\"$-\n", max_size=10).map(lambda s: "/*" + s + "*/")
_blank = st.lists(st.sampled_from([" ", "\t", "\n", "\r\n", "\n\n"]), max_size=3).map("".join)


@st.composite
def _comment(draw: st.DrawFn) -> str:
    """A comment and the white space after it (a line comment ends its line, LF or CRLF)."""
    if draw(st.booleans()):
        return draw(_line_comment) + draw(st.sampled_from(["\n", "\r\n"])) + draw(_blank)
    return draw(_block_comment) + draw(_blank)


_statement = st.one_of(
    st.builds(lambda n: f"select {n}", st.integers(0, 999)),
    st.builds(lambda s, w: f'select {s} as "{w};x"', _literal, _word),
    st.builds(lambda w, a, b: f"insert into public.{w} (a, b) values ({a}, {b})", _word, _literal, _literal),
    st.builds(lambda b, s: f"do $body$ begin perform 1; -- {b}\nraise notice {s}; end $body$", _dollar_body, _literal),
    st.builds(
        lambda w, b: f"create function public.{w}() returns int language sql as $$ select 1; /* {b} */ $$",
        _word,
        _dollar_body.filter(lambda b: "*/" not in b and "/*" not in b),
    ),
    st.builds(
        lambda w, s: f"create function public.{w}() returns text language sql\nbegin atomic\n"
        f"  select {s};\n  select 'x;y';\nend",
        _word,
        _literal,
    ),
    st.builds(lambda w, c: f"select 1 {c} + 2 from {w}", _word, _block_comment),
    st.builds(
        lambda w, s: f"create rule {w} as on insert to public.t do also (insert into public.a values ({s}); select 2)",
        _word,
        _literal,
    ),
)


@st.composite
def _piece(draw: st.DrawFn) -> tuple[str, str]:
    """(statement, its piece of the file): comments and blanks before it, a comment after it."""
    statement = draw(_statement)
    before = draw(_blank) + "".join(draw(st.lists(_comment(), max_size=2)))
    after = draw(st.sampled_from(["", " /* end; */", " -- end;\n"])) + draw(_blank)
    return statement, before + statement + after


@st.composite
def _file(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    """(file text, its statements, the pieces the CLI's split keeps, stripped)."""
    pieces = draw(st.lists(_piece(), min_size=1, max_size=6))
    trailer = draw(_blank) + "".join(draw(st.lists(_comment(), max_size=2)))
    text = "".join(piece + ";" for _, piece in pieces) + trailer
    expected = [piece.strip() for _, piece in pieces]
    if trailer.strip():
        expected.append(trailer.strip())  # a comment after the last semicolon is a piece of its own
    return text, [s for s, _ in pieces], expected


_broken = st.sampled_from(["selec 1", "select (1", "select 1)", "select 'unclosed", "/* unclosed", "end"])


@st.composite
def _any_file(draw: st.DrawFn) -> str:
    """A file whose statements the parser may reject: one broken piece somewhere."""
    pieces = [piece for _, piece in draw(st.lists(_piece(), max_size=5))]
    pieces.insert(draw(st.integers(0, len(pieces))), draw(_blank) + draw(_broken) + draw(_blank))
    return ";".join(pieces) + draw(st.sampled_from(["", ";", ";\n-- end"]))


def _reference_split(text: str) -> list[tuple[str, int]]:
    """The splitter as it was, quadratic and obviously right: the oracle for any input."""
    try:
        bodies = pglast.parser.split(text, with_parser=True, only_slices=True)
    except pglast.parser.ParseError:
        bodies = ()
    try:
        tokens = pglast.parser.scan(text)
    except pglast.parser.ParseError:
        tokens = []
    inside = [(b.start, b.stop) for b in bodies]
    cuts = [t.start for t in tokens if t.name == "ASCII_59" and not any(lo <= t.start < hi for lo, hi in inside)]
    result, begin = [], 0
    for end in [*cuts, len(text)]:
        piece = text[begin:end]
        stripped = piece.lstrip()
        if stripped.strip():
            result.append((stripped.rstrip(), begin + len(piece) - len(stripped)))
        begin = end + 1
    return result


def _deparse(sql: str) -> str:
    (raw,) = pglast.parse_sql(sql)
    assert raw.stmt is not None
    return str(RawStream()(raw.stmt))


@FEW
@given(_file())
def test_the_split_yields_each_statement_with_its_place_and_tree(case: tuple[str, list[str], list[str]]) -> None:
    text, generated, expected = case
    split = SqlText(text).statements()
    assert [s.text for s in split] == expected
    for stmt in split:
        assert text[stmt.offset : stmt.offset + len(stmt.text)] == stmt.text
    for stmt, sql in zip(split, generated, strict=False):
        assert stmt.tree is not None and stmt.error is None
        assert str(RawStream()(stmt.tree)) == _deparse(sql)
        assert text.startswith(sql, stmt.start)  # start: the statement itself, past its comments
    if len(split) > len(generated):
        assert split[-1].is_comment_only and split[-1].tree is None


@FEW
@given(st.one_of(_file().map(lambda case: case[0]), _any_file()))
def test_the_split_is_the_one_it_replaces_on_any_input(text: str) -> None:
    assert [(s.text, s.offset) for s in SqlText(text).statements()] == _reference_split(text)


@FEW
@given(_file())
def test_start_is_never_inside_a_comment(case: tuple[str, list[str], list[str]]) -> None:
    text = case[0]
    comments = [(t.start, t.end) for t in pglast.parser.scan(text) if t.name in COMMENT_TOKENS]
    for stmt in SqlText(text).statements():
        if not stmt.is_comment_only:
            assert not any(lo <= stmt.start <= hi for lo, hi in comments)


@FEW
@given(_file(), st.data())
def test_line_col_counts_lines_and_columns(case: tuple[str, list[str], list[str]], data: st.DataObject) -> None:
    text = case[0]
    sql = SqlText(text)
    for offset in [0, len(text), *data.draw(st.lists(st.integers(0, len(text)), max_size=8))]:
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        assert sql.line_col(offset) == (line, column)


def test_the_split_of_text_the_parser_rejects_cuts_at_every_semicolon() -> None:
    split = statements("selec 1; create function f() returns int begin atomic select 1; end;\n")
    assert [s.text for s in split] == ["selec 1", "create function f() returns int begin atomic select 1", "end"]
    assert split[0].error == 'syntax error at or near "selec"' and split[0].error_offset == 0
    assert [s.text for s in statements("select (1; select 2);\nselect 3")] == ["select (1", "select 2)", "select 3"]
    assert [s.text for s in statements("select 1; select 'x;\n")] == ["select 1; select 'x;"]  # unclosed quote


def test_a_hundred_thousand_statements_split() -> None:
    # A seed of this size took minutes with the quadratic splitter; bench.py times it.
    text = "".join(f"insert into t values ({i}, 'a;b');\n" for i in range(100_000))
    split = SqlText(text).statements()
    assert len(split) == 100_000 and split[-1].offset == text.rindex("insert")


# -- what a statement is --------------------------------------------------------------------------


def test_start_and_keyword_are_past_leading_comments() -> None:
    stmt = Statement("-- a; b\n/* c */  select 1", 10)
    assert (stmt.start, stmt.keyword) == (10 + 17, "SELECT")
    assert Statement("select 1", 4).start == 4


def test_the_tree_is_parsed_once_and_errors_point_into_the_file() -> None:
    stmt = Statement("select 1", 0)
    assert stmt.tree is stmt.tree
    bad = Statement("-- c\nselect from from", 5)
    assert bad.tree is None and bad.error == 'syntax error at or near "from"'
    assert bad.error_offset == 5 + 5 + 12


def test_comment_only() -> None:
    assert Statement("-- x", 0).is_comment_only
    assert Statement("/* a; */\n-- b", 0).is_comment_only
    assert not Statement("select 1 -- x", 0).is_comment_only
    assert not Statement("/* unterminated", 0).is_comment_only  # the server reports it


def test_transaction_control() -> None:
    for text in (
        "begin",
        "BEGIN ISOLATION LEVEL SERIALIZABLE",
        "start transaction",
        "commit",
        "end",
        "abort",
        "rollback",
        "/* c */ commit",
        "-- c\nbegin",
        "prepare transaction 'x'",
        "commit prepared 'x'",
    ):
        assert Statement(text, 0).is_transaction_control, text
    for text in (
        "-- begin;\nselect 1",
        "rollback to savepoint x",
        "rollback to x",
        "savepoint x",
        "release savepoint x",
        "select 'begin'",
        "begin atomic",  # not a statement: the parser rejects it, the server reports it
    ):
        assert not Statement(text, 0).is_transaction_control, text


def test_extension_statements() -> None:
    for text in (
        "create extension x",
        "/* c */ create extension if not exists x with schema extensions",
        "drop extension if exists x cascade",
        "alter extension x update",
        "alter extension x add function f()",
        "alter extension x drop table t",
        "alter extension x set schema y",
        "comment on extension x is 'y'",
    ):
        assert Statement(text, 0).is_extension_statement, text
    for text in (
        "-- create extension x\nselect 1",
        "comment on table t is 'extension'",
        "create table extension_t (id int)",
        "alter table t set schema y",
        "drop table extension",
        "create extension",  # rejected by the parser
    ):
        assert not Statement(text, 0).is_extension_statement, text


def test_created_extensions_reads_trees() -> None:
    split = statements(
        "create extension a; /* x */ create extension if not exists b with schema extensions;\n"
        "drop extension c; select 'create extension d'; -- create extension e\n"
    )
    assert created_extensions(split) == {"a", "b"}


def test_vector_indexes_are_told_by_their_access_method() -> None:
    hnsw = Statement("-- c\ncreate index on t using hnsw (v vector_l2_ops) with (m = 4)", 0)
    assert is_vector_index(hnsw) and is_vector_index(Statement("create unique index i on t using ivfflat (v)", 0))
    assert not is_vector_index(Statement("create index i on t using btree (v) -- using hnsw", 0))
    assert ExtensionPolicy(frozenset({"vector"})).wants(hnsw)
    assert not ExtensionPolicy().wants(hnsw)
    assert ExtensionPolicy().wants(Statement("create extension vector", 0))
