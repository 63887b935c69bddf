"""The engine: name resolution, data flow, prefilter, robustness, suppressions, pool."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cryptorails.audit import all_rules, check_source, find_files, rule, scan
from cryptorails.audit._context import NOT_CONSTANT, FileContext
from cryptorails.audit._registry import Severity

from .conftest import run

NONCE_FROM_CLOCK = """
import time
{imports}

def make_nonce():
    return int(time.time()).to_bytes(12, "big")

def seal(key, data):
    return {call}(make_nonce(), data, None)
"""


def context(source: str) -> FileContext:
    return FileContext("m.py", source.encode(), ast.parse(source))


@pytest.mark.parametrize(
    ("imports", "call"),
    [
        ("from cryptography.hazmat.primitives.ciphers.aead import AESGCM", "AESGCM(key).encrypt"),
        ("from cryptography.hazmat.primitives.ciphers.aead import AESGCM as G", "G(key).encrypt"),
        ("import cryptography.hazmat.primitives.ciphers.aead as a", "a.AESGCM(key).encrypt"),
        ("from cryptography.hazmat.primitives.ciphers import aead", "aead.AESGCM(key).encrypt"),
    ],
)
def test_import_aliases_do_not_hide_a_finding(imports: str, call: str) -> None:
    findings = run(NONCE_FROM_CLOCK.format(imports=imports, call=call), "CR0101")
    assert [(f.rule, f.line) for f in findings] == [("CR0101", 9)]


def test_a_local_name_shadowing_an_import_is_not_the_import() -> None:
    ctx = context("from m import AESGCM\ndef f(AESGCM):\n    return AESGCM\n")
    name = ctx.by_type[ast.Return][0].value
    assert ctx.qualname(name) == "AESGCM"


def test_qualname_follows_instances_and_self_attributes() -> None:
    ctx = context(
        "from cryptography.fernet import Fernet as F\n"
        "class S:\n"
        "    def __init__(self, k):\n"
        "        self.f = F(k)\n"
        "    def go(self, t):\n"
        "        box = self.f\n"
        "        return box.decrypt(t)\n"
    )
    call = ctx.by_type[ast.Return][0].value
    assert ctx.call_name(call) == "cryptography.fernet.Fernet.decrypt"


def test_values_follow_parameters_to_literal_call_sites_and_defaults() -> None:
    ctx = context("def f(x, y=3):\n    return x + y\nf(1)\nf(x=2)\n")
    binop = ctx.by_type[ast.BinOp][0]
    xs = sorted(v.value for v in ctx.values(binop.left))  # type: ignore[attr-defined]
    assert xs == [1, 2]
    assert ctx.literal(binop.right) == 3
    assert ctx.literal(binop.left) is NOT_CONSTANT


def test_values_follow_helper_returns_and_global_counters() -> None:
    ctx = context(
        "import itertools\n"
        "n = 0\n"
        "c = itertools.count()\n"
        "def bump():\n"
        "    global n\n"
        "    n += 1\n"
        "    return n\n"
        "def use():\n"
        "    return bump(), next(c)\n"
    )
    tup = ctx.by_type[ast.Tuple][-1]
    first = ctx.values(tup.elts[0])
    assert any(isinstance(v, ast.Constant) and v.value == 0 for v in first)
    names = [n for n in ctx.by_type[ast.Name] if n.id in ("n", "c")]
    assert all(ctx.is_counter(n) for n in names)


def test_prefilter_skips_files_without_trigger_words(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "crypto.py").write_text(NONCE_FROM_CLOCK.format(imports="", call="x"))
    result = scan([tmp_path], list(all_rules().values()), jobs=1)
    assert result.files == 2
    assert result.parsed == 1


@pytest.mark.parametrize(
    "source",
    [
        b"def broken(:\n    pass\n",
        b"x = 1\x00\n# cryptorails: token time encrypt\n",
        b"# -*- coding: latin-1 -*-\ns = '\xe9' # nonce encrypt time\n",
        b"\xff\xfe nonce encrypt time",
        b"x = " + b"(" * 300 + b"1" + b")" * 300 + b"  # nonce encrypt time token\n",
        b"token = nonce = encrypt = time = " + b" + ".join([b"a"] * 20000) + b"\n",
    ],
)
def test_bad_or_hostile_source_gives_a_warning_or_nothing_never_an_exception(
    source: bytes,
) -> None:
    result = check_source(source, "bad.py", list(all_rules().values()))
    assert all(w.startswith("bad.py") for w in result.warnings)
    assert not any("internal error" in w for w in result.warnings)


def test_an_unparsable_file_is_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def broken(:\n  time.time() encrypt nonce\n")
    result = scan([tmp_path], list(all_rules().values()), jobs=1)
    assert result.findings == []
    assert result.warnings == [f"{tmp_path / 'bad.py'}: cannot parse (line 1); skipped"]


def test_suppressions_need_a_reason_and_live_in_comments_only() -> None:
    body = NONCE_FROM_CLOCK.format(
        imports="from cryptography.hazmat.primitives.ciphers.aead import AESGCM",
        call="AESGCM(key).encrypt",
    )
    with_reason = body.replace("None)", "None)  # cryptorails: ignore[CR0101] test vector")
    assert run(with_reason, "CR0101") == []
    without = body.replace("None)", "None)  # cryptorails: ignore[CR0101]")
    assert sorted(f.rule for f in run(without, "CR0101", "CR0001")) == ["CR0001", "CR0101"]
    in_string = body + '\nDOC = "# cryptorails: ignore[CR0101]"\n'
    assert [f.rule for f in run(in_string, "CR0101", "CR0001")] == ["CR0101"]


def test_a_comment_alone_on_the_line_above_suppresses_the_next_line() -> None:
    body = NONCE_FROM_CLOCK.format(
        imports="from cryptography.hazmat.primitives.ciphers.aead import AESGCM",
        call="AESGCM(key).encrypt",
    )
    target = "    return AESGCM(key).encrypt"
    suppressed = body.replace(target, "    # cryptorails: ignore[CR0101] known vector\n" + target)
    assert run(suppressed, "CR0101") == []


def test_default_and_configured_excludes(tmp_path: Path) -> None:
    for rel in ("a.py", ".venv/b.py", "pkg/migrations/c.py", "pkg/d.py", "pkg/e.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    found = [p.relative_to(tmp_path).as_posix() for p in find_files([tmp_path], ["migrations"])]
    assert found == ["a.py", "pkg/d.py"]
    assert find_files([tmp_path / ".venv" / "b.py"]) == [tmp_path / ".venv" / "b.py"]


def test_the_pool_finds_exactly_what_one_process_finds(tmp_path: Path) -> None:
    vulnerable = NONCE_FROM_CLOCK.format(
        imports="from cryptography.hazmat.primitives.ciphers.aead import AESGCM",
        call="AESGCM(key).encrypt",
    )
    for i in range(60):
        (tmp_path / f"m{i}.py").write_text(vulnerable if i % 3 == 0 else "x = 1\n")
    rules = list(all_rules().values())
    serial = scan([tmp_path], rules, jobs=1)
    pooled = scan([tmp_path], rules, jobs=2)
    assert len(serial.findings) == 20
    assert pooled.findings == serial.findings


def test_the_pool_reports_in_file_order_like_one_process(tmp_path: Path) -> None:
    # Files of different sizes (the pool hands out the big ones first), some of which
    # cannot be parsed: the warnings still come in file order.
    for i in range(60):
        body = "x = 1\n" * (i * 7 % 23) + "token = nonce = encrypt(time)\n"
        broken = "def broken(:\n" if i % 5 == 0 else ""
        (tmp_path / f"m{i:02}.py").write_text(broken + body)
    rules = list(all_rules().values())
    serial = scan([tmp_path], rules, jobs=1)
    pooled = scan([tmp_path], rules, jobs=2)
    assert len(serial.warnings) == 12
    assert pooled.warnings == serial.warnings
    assert (pooled.files, pooled.parsed) == (serial.files, serial.parsed) == (60, 48)


def test_rule_registration_checks_codes_and_names() -> None:
    def check(node: ast.AST, ctx: FileContext) -> list[object]:
        return []

    with pytest.raises(ValueError, match="CR \\+ case 02"):
        rule(code="CR0101", name="x-y", case=2, severity=Severity.LOW, cwe=1, nodes=(ast.Call,))
    with pytest.raises(ValueError, match="kebab-case"):
        rule(
            code="CR0199", name="Bad_Name", case=1, severity=Severity.LOW, cwe=1, nodes=(ast.Call,)
        )
    with pytest.raises(ValueError, match="registered twice"):
        rule(code="CR0101", name="again", case=1, severity=Severity.LOW, cwe=1, nodes=(ast.Call,))(
            check  # type: ignore[arg-type]
        )
    with pytest.raises(ValueError, match="never match"):
        rule(
            code="CR0198",
            name="z",
            case=1,
            severity=Severity.LOW,
            cwe=1,
            nodes=(ast.Call,),
            requires=[[]],
        )


def test_walk_is_the_subtree_in_source_order_without_contexts_and_operators() -> None:
    ctx = context("def f(a):\n    x = a + 1\n    def g():\n        return x\n    return g\n")
    function = ctx.by_type[ast.FunctionDef][0]
    expected = [n for n in ast.walk(function) if not isinstance(n, ast.expr_context | ast.operator)]
    assert sorted(map(id, ctx.walk(function))) == sorted(map(id, expected))
    assert ctx.walk(function)[0] is function
    names = [n.id for n in ctx.walk(function) if isinstance(n, ast.Name)]
    assert names == ["x", "a", "x", "g"]
    own = [type(n).__name__ for n in ctx.scope_nodes(function) if isinstance(n, ast.stmt)]
    assert own == ["Assign", "FunctionDef", "Return"]


def test_qualname_is_memoized_per_node() -> None:
    ctx = context("import hmac as h\nh.new(k, m, 'sha256')\n")
    call = ctx.by_type[ast.Call][0]
    assert ctx.call_name(call) == "hmac.new"
    assert ctx.call_name(call) == "hmac.new"
    assert ctx.qualname(None) is None


def test_method_arguments_come_only_from_calls_that_can_reach_that_class() -> None:
    ctx = context(
        "class A:\n"
        "    def seal(self, n):\n"
        "        return n\n"
        "class B:\n"
        "    def seal(self, n):\n"
        "        return n\n"
        "    def go(self):\n"
        "        return self.seal(2)\n"
        "A().seal(1)\n"
        "a = A()\n"
        "a.seal(3)\n"
        "other.seal(4)\n"
    )
    values = {}
    for method in ctx.functions["seal"]:
        owner = ctx.scope_of[method]
        assert isinstance(owner, ast.ClassDef)
        found = ctx.argument_values(method, method.args.args[1])
        values[owner.name] = sorted(v.value for v in found if isinstance(v, ast.Constant))
    assert values == {"A": [1, 3], "B": [2]}


@pytest.mark.parametrize(
    "source",
    [
        b"x = 1\n",
        b"import hmac\nsig = hmac.new(k, m, 'sha256').digest()\nif sig == expected: pass\n",
        b"nonce = int(time.time()).to_bytes(12, 'big')\nAESGCM(k).encrypt(nonce, d, None)\n",
        b"requests.get(url, verify=False)\nctx.check_hostname = False\n",
        b"# cryptorails: ignore[CR0501]\nTOKEN_URL = 'https://x'\n",
        b"tar -czf backup.tar.gz /var/lib/app  # pg_dump sentry_sdk send_default_pii=True\n",
    ],
)
def test_the_prefilter_selects_exactly_the_rules_whose_words_occur(source: bytes) -> None:
    from cryptorails.audit._engine import Prefilter

    rules = list(all_rules().values())
    lowered = source.lower()
    expected = [r.code for r in rules if r.could_match(lowered)]
    assert [r.code for r in Prefilter(rules).select(lowered)] == expected


def test_the_prefilter_agrees_with_the_rules_words_on_real_files() -> None:
    from cryptorails.audit._engine import Prefilter

    rules = list(all_rules().values())
    prefilter = Prefilter(rules)
    root = Path(__file__).parents[2]
    files = [*root.glob("src/**/*.py"), *root.glob("tests/audit/**/*.py")]
    assert len(files) > 300
    for path in files:
        lowered = path.read_bytes().lower()
        expected = [r.code for r in rules if r.could_match(lowered)]
        assert [r.code for r in prefilter.select(lowered)] == expected, path


def test_a_small_tree_is_scanned_in_process_even_with_workers_started(tmp_path: Path) -> None:
    # The workers start before the walk; with fewer files than pay for them the scan
    # still runs, in this process, and gives what one process gives.
    for i in range(5):
        (tmp_path / f"m{i}.py").write_text(NONCE_FROM_CLOCK.format(imports="", call="x"))
    rules = list(all_rules().values())
    pooled = scan([tmp_path], rules, jobs=2)
    assert pooled.findings == scan([tmp_path], rules, jobs=1).findings
    assert (pooled.files, pooled.parsed) == (5, 5)


def test_a_broken_pool_falls_back_to_scanning_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures.process import BrokenProcessPool

    from cryptorails.audit._pool import Workers

    def broken(self: Workers, files: list[Path], sources: object = None) -> list[object]:
        raise BrokenProcessPool("a worker died")

    monkeypatch.setattr(Workers, "scan", broken)
    for i in range(60):
        body = NONCE_FROM_CLOCK.format(imports="", call="x") if i % 3 == 0 else "x = 1\n"
        (tmp_path / f"m{i}.py").write_text(body)
    rules = list(all_rules().values())
    pooled = scan([tmp_path], rules, jobs=2)
    serial = scan([tmp_path], rules, jobs=1)
    assert pooled.findings == serial.findings
    assert (pooled.files, pooled.parsed) == (serial.files, serial.parsed) == (60, 20)
