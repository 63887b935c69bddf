"""The text tests that decide which files are parsed: words, confirms, file discovery.

Skipping a file is only correct when no selected rule could report in it, so each test
here compares the fast path with a plain reference: `Rule.could_match` for the words,
the rule itself (run without its confirm) for each `Rule.confirm`.
"""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptorails.audit import Rule, all_rules, check_source, find_files, scan
from cryptorails.audit._context import FileContext
from cryptorails.audit._engine import DEFAULT_EXCLUDE
from cryptorails.audit._words import Prefilter
from cryptorails.audit.rules import cr1003_verification_flag_without_expiry as cr1003

from .conftest import FIXTURES

RULES = list(all_rules().values())
CONFIRMED = [r for r in RULES if r.confirm is not None]
CORPUS = FIXTURES.parent / "corpus"


def _reference(lowered: bytes) -> list[str]:
    return [r.code for r in RULES if r.could_match(lowered)]


# -- the words ------------------------------------------------------------------------

_WORDS = sorted({w.decode() for r in RULES for group in r.requires for w in group})
_PIECES = st.one_of(
    st.sampled_from(_WORDS),
    st.sampled_from(_WORDS).map(lambda w: w[: max(1, len(w) - 1)]),  # almost a word
    st.sampled_from(_WORDS).map(lambda w: w[1:] or w),
    st.sampled_from([" ", "_", ".", "(", ")", "\n", "=", ",", '"', "'", "-", "é", "\x00"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789 .(", max_size=6),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30))
def test_the_prefilter_is_exactly_could_match_on_generated_text(pieces: list[str]) -> None:
    # Words glued to each other, cut short, or next to separators: the places where a
    # token-based shortcut could disagree with a plain substring search.
    lowered = "".join(pieces).encode("utf-8").lower()
    assert [r.code for r in Prefilter(RULES).select(lowered)] == _reference(lowered)


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"verify(",  # a word ending with a separator: the token must end there
        b"xverify(",
        b"verify_(",
        b".nowx now( .today",
        b"from time import x",
        b"from  time import x",  # two spaces: not the word
        b"sig,sig)sig=",
        b"\"alg\" 'jku'",
        b"+ -= count",
        b"signatur signature signatures",
        b"nonce\x00jti\xff replay",
    ],
)
def test_the_prefilter_is_exactly_could_match_on_edge_cases(text: bytes) -> None:
    assert [r.code for r in Prefilter(RULES).select(text)] == _reference(text)


def test_the_prefilter_handles_rules_without_words() -> None:
    bare = dataclasses.replace(RULES[0], code="CR0199", requires=())
    assert Prefilter([bare]).select(b"") == [bare]
    assert Prefilter([]).select(b"anything") == []


# -- the confirms ---------------------------------------------------------------------


def _without_confirm(rule: Rule) -> Rule:
    return dataclasses.replace(rule, confirm=None)


def _fires(rule: Rule, source: bytes, path: str = "app/flags.py") -> bool:
    return bool(check_source(source, path, [_without_confirm(rule)]).findings)


def _sample_files() -> list[Path]:
    return sorted([*FIXTURES.glob("*.py"), *CORPUS.rglob("*.py")])


@pytest.mark.parametrize("rule", CONFIRMED, ids=lambda r: r.code)
def test_a_confirm_holds_wherever_its_rule_reports_in_the_fixtures_and_corpus(
    rule: Rule,
) -> None:
    reported = 0
    for path in _sample_files():
        source = path.read_bytes()
        if _fires(rule, source, str(path)):
            reported += 1
            assert rule.may_fire(source, str(path)), path
    assert reported > 0  # the check saw the rule report at all


@pytest.mark.parametrize("rule", CONFIRMED, ids=lambda r: r.code)
def test_a_confirm_never_sees_a_file_without_the_words(rule: Rule) -> None:
    assert not rule.may_fire(b"x = 1\n")


def _flag_sources(name: str, value: str) -> list[str]:
    """Every way CR1003 reads a flag, with `name` as the flag's name."""
    key = name.replace("_", "-")
    return [
        f"{name} = {value}\n",
        f"{name}: bool = {value}\n",
        f"class Settings:\n    {name} = {value}\n",
        f"from django.conf import settings\nsettings.{name} = {value}\n",
        f"app.config[{name!r}] = {value}\n",
        f"FLAGS = {{{key!r}: {value}}}\n",
        f"FLAGS = {{'a': 1, {name!r}: {value}, 'b': 2}}  # one line\n",
        f"config.update({name}={value})\n",
        f"import os\nos.environ[{name.upper()!r}] = {'1' if value == 'True' else '0'!r}\n",
        f"import os\nos.environ.setdefault({name.upper()!r}, {value!r})\n",
        f"class AppConfig(BaseSettings):\n    {name}: bool = Field(default={value})\n",
    ]


def _pairs(first: frozenset[str], second: frozenset[str]) -> list[tuple[str, str]]:
    """Pairs that use every word of both vocabularies at least once."""
    a, b = sorted(first), sorted(second)
    return [(a[i % len(a)], b[i % len(b)]) for i in range(max(len(a), len(b)))]


def _flag_names() -> list[str]:
    """Names made of one or two words of CR1003's vocabularies, in snake_case,
    UPPER_CASE and camelCase: every word that is enough alone, and every word of the
    vocabularies that are enough in pairs, in both orders."""
    pairs = [
        *_pairs(cr1003._OFF_VERBS, cr1003._CHECKS),
        *_pairs(cr1003._PERMIT_VERBS, cr1003._BAD_INPUTS),
        *_pairs(cr1003._SWITCH_WORDS, cr1003._CRYPTO_CHECKS),
        ("allow_self", "signed"),
    ]
    names = [
        *sorted(cr1003._UNCHECKED | cr1003._VERIFY_WORDS),
        *(f"{a}_{b}" for a, b in pairs),
        *(f"{b}_{a}" for a, b in pairs),
    ]
    camel = [n.split("_")[0] + "".join(w.title() for w in n.split("_")[1:]) for n in names]
    return names + [n.upper() for n in names] + camel


def test_cr1003_confirm_holds_for_every_flag_the_rule_reports() -> None:
    rule = all_rules()["CR1003"]
    reported = 0
    for i, name in enumerate(_flag_names()):
        for value in ("True", "False"):
            forms = _flag_sources(name, value)
            for source in (forms[0], forms[1 + i % (len(forms) - 1)]):
                data = source.encode()
                if _fires(rule, data):
                    reported += 1
                    assert rule.may_fire(data, "app/flags.py"), source
    assert reported > 300


@pytest.mark.parametrize(
    "source",
    [
        "FLAGS = {'skip-auth': True}\n",
        "FLAGS = {'allow self signed': True}\n",
        "FLAGS = {'Skip.Signature.Check': True}\n",
        "app.config['disable webhook verification'] = True\n",
        "skipAuth = True\n",
    ],
)
def test_cr1003_confirm_sees_names_split_by_separators(source: str) -> None:
    rule = all_rules()["CR1003"]
    assert _fires(rule, source.encode())
    assert rule.may_fire(source.encode(), "app/settings.py")


def test_cr1003_confirm_skips_files_whose_names_cannot_switch_a_check_off() -> None:
    rule = all_rules()["CR1003"]
    # The words test passes (`valid`, `token`, `True`), but no name is a switch: the
    # check words sit in different names on different lines.
    source = b"is_valid = True\nno_cache = True\ntoken_count = 3\n"
    assert rule.could_match(source.lower())
    assert not rule.may_fire(source, "app/settings.py")
    # A test module never gives findings, whatever it holds.
    assert _fires(rule, b"SKIP_AUTH = True\n")
    assert not rule.may_fire(b"SKIP_AUTH = True\n", "app/tests/test_views.py")


def test_cr1001_confirm_needs_a_sink_or_the_capture_settings() -> None:
    rule = all_rules()["CR1001"]
    near_miss = b"query.set_extra_mask(names)\nrequest.META['HTTP_COOKIE']\n"
    assert rule.could_match(near_miss.lower())
    assert not rule.may_fire(near_miss)
    sink = (
        b'span.set_attribute("http.request.header.authorization", '
        b'request.headers["Authorization"])\n'
    )
    assert _fires(rule, sink)
    assert rule.may_fire(sink)


def test_the_engine_skips_a_file_its_confirms_reject_and_counts_it_unparsed(
    tmp_path: Path,
) -> None:
    (tmp_path / "settings.py").write_text("is_valid = True\nno_cache = True\n")
    result = scan([tmp_path], [all_rules()["CR1003"]], jobs=1)
    assert (result.files, result.parsed) == (1, 0)


def test_a_confirm_that_fails_does_not_hide_the_file() -> None:
    def broken(source: bytes, lowered: bytes, path: str) -> bool:
        raise RuntimeError("bug in a text test")

    rule = dataclasses.replace(all_rules()["CR1003"], confirm=broken)
    result = check_source(b"SKIP_AUTH = True\n", "app/settings.py", [rule])
    assert result.parsed
    assert [f.rule for f in result.findings] == ["CR1003"]


# -- the index ------------------------------------------------------------------------

_EVERY_CONSTRUCT = """
import os, sys as system
from .pkg import name as alias, other
global_value: int = 1
@decorator(arg)
class Widget(Base, metaclass=Meta):
    attribute = [x for x in range(3) if x]
    async def method(self, a, /, b=default(), *args, c: int = 2, **kwargs) -> Result:
        global global_value
        nonlocal_test = lambda q=lambda: 1: q
        async with open(a) as (f, g), other() as h:
            async for item in f:
                await item
        try:
            value = {**kwargs, "k": a if b else c, **{}}
        except* ValueError as error:
            raise error from None
        finally:
            del value
        match command:
            case [1, *rest] | {"key": _, **others} if rest:
                pass
            case Point(x=0, y=y) as point:
                return f"{point!r:>{width}}"
        while (n := next(it)) is not None:
            yield from {n, -n}
        return (not a) + b[1:2, ::3] @ c
"""


def _reference_index(tree: ast.Module) -> list[tuple[ast.AST, ast.AST | None]]:
    """Every node with its parent, the way the index must see them: `ast.walk` order
    aside, without contexts and operators (shared singletons, not places)."""
    skipped = (ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)
    out: list[tuple[ast.AST, ast.AST | None]] = [(tree, None)]
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, skipped):
                out.append((child, node))
    return out


def test_the_index_sees_every_node_once_with_its_parent() -> None:
    tree = ast.parse(_EVERY_CONSTRUCT)
    ctx = FileContext("m.py", _EVERY_CONSTRUCT.encode(), tree)
    expected = _reference_index(tree)
    assert sorted(map(id, ctx.walk(tree))) == sorted(id(n) for n, _ in expected)
    assert all(ctx.parent(node) is parent for node, parent in expected)
    # Subtree sizes: each walk is the node's own subtree.
    for node, _ in expected:
        inside = {id(n) for n in ast.walk(node)}
        assert {id(n) for n in ctx.walk(node)} <= inside
        assert ctx.walk(node)[0] is node


def test_the_index_puts_defaults_and_decorators_in_the_enclosing_scope() -> None:
    tree = ast.parse(_EVERY_CONSTRUCT)
    ctx = FileContext("m.py", _EVERY_CONSTRUCT.encode(), tree)
    widget = next(n for n in ctx.by_type[ast.ClassDef] if isinstance(n, ast.ClassDef))
    method = ctx.functions["method"][0]
    default = method.args.defaults[0]
    assert ctx.scope_of[default] is widget
    assert ctx.scope_of[widget.decorator_list[0]] is tree
    assert ctx.scope_of[method.body[0]] is method
    assert ctx.imports == {"os": "os", "system": "sys", "alias": "pkg.name", "other": "pkg.other"}
    assert "global_value" in ctx.assigned[tree]


# -- file discovery -------------------------------------------------------------------


def test_find_files_excludes_exactly_what_fnmatch_excludes(tmp_path: Path) -> None:
    layout = [
        "a.py", "b.txt", "build/x.py", "src/build.py", "src/pkg/migrations/m.py",
        "src/pkg/mod.py", "tests/fixtures/f.py", "tests/test_x.py", "deep/a/b/c.py",
        ".hidden/h.py", "node_modules/n.py", "src/[weird]/w.py",
    ]  # fmt: skip
    for rel in layout:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    patterns = ["migrations", "tests/fixtures/*", "deep/*/b", "*.txt", "[[]weird]"]
    every = (*DEFAULT_EXCLUDE, *patterns)

    def excluded(rel: Path) -> bool:
        parts = [Path(*rel.parts[: i + 1]) for i in range(len(rel.parts))]
        return any(
            fnmatch.fnmatchcase(p.as_posix(), pattern) or fnmatch.fnmatchcase(p.name, pattern)
            for p in parts
            for pattern in every
        )

    expected = sorted(
        tmp_path / rel for rel in layout if rel.endswith(".py") and not excluded(Path(rel))
    )
    assert find_files([tmp_path], patterns) == expected
    assert [p.relative_to(tmp_path).as_posix() for p in expected] == [
        ".hidden/h.py", "a.py", "src/build.py", "src/pkg/mod.py", "tests/test_x.py",
    ]  # fmt: skip
