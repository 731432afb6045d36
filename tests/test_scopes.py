"""backlint/analysis/scopes.py: the scope/binding model every analysis shares."""

from __future__ import annotations

import textwrap

import libcst as cst

from backlint.analysis.scopes import COMPREHENSION, FUNCTION, LAMBDA, MODULE, Scopes, Site
from backlint.core.catalog import load_catalog
from backlint.core.imports import ImportTable
from backlint.core.results import FileKind
from backlint.core.rule import FileContext
from backlint.pipeline.walk import BatchedWalker


class _Probe:
    """Records the site of every ``probe(...)`` call, as an analysis requiring Scopes would."""

    def __init__(self, scopes: Scopes) -> None:
        self.scopes = scopes
        self.sites: list[tuple[cst.Call, Site]] = []

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "probe":
            self.sites.append((node, self.scopes.site_at(node)))


def _walk(code: str) -> tuple[Scopes, list[Site]]:
    module = cst.parse_module(textwrap.dedent(code).lstrip("\n"))
    context = FileContext(
        path="app/x.py",
        module_name="app.x",
        kind=FileKind.PRODUCTION,
        source=module.code,
        imports=ImportTable("app.x"),
        knowledge=load_catalog().knowledge,
        options={},
    )
    scopes = Scopes(context)
    probe = _Probe(scopes)
    BatchedWalker([scopes, probe], context).walk(module)  # type: ignore[list-item]
    return scopes, [site for _, site in probe.sites]


def _values(scopes: Scopes, name: str, site: Site) -> list[str]:
    found = scopes.lookup(name, site)
    assert found is not None, name
    return [cst.Module([]).code_for_node(b.value) if b.value is not None else b.kind for b in found[0]]


def test_bindings_before_the_use_in_its_own_scope() -> None:
    scopes, (first, second) = _walk(
        """
        def f(x):
            probe(x)
            x = 1
            x = 2
            probe(x)
        """
    )
    assert _values(scopes, "x", first) == ["param"]
    assert _values(scopes, "x", second) == ["param", "1", "2"]
    assert scopes.lookup("x", second)[1] is True  # type: ignore[index]


def test_loop_carried_binding_counts_when_none_is_before() -> None:
    scopes, (site,) = _walk(
        """
        def f():
            for _ in range(3):
                probe(total)
                total = 1
        """
    )
    assert _values(scopes, "total", site) == ["1"]


def test_enclosing_scopes_give_all_their_bindings_and_skip_class_bodies() -> None:
    scopes, (inner, method) = _walk(
        """
        LIMIT = 10
        def outer():
            sql = "a"
            def inner():
                probe(sql, LIMIT)
            sql = "b"
        class C:
            sql = "class"
            def m(self):
                probe(sql)
        """
    )
    assert _values(scopes, "sql", inner) == ['"a"', '"b"']
    assert scopes.lookup("sql", inner)[1] is False  # type: ignore[index]
    assert _values(scopes, "LIMIT", inner) == ["10"]
    assert scopes.lookup("sql", method) is None  # a class body is not an enclosing scope of its methods
    assert scopes.lookup("undefined", method) is None


def test_global_and_nonlocal_bind_in_the_owning_scope() -> None:
    scopes, (site, counter) = _walk(
        """
        QUERY = "x"
        def configure():
            global QUERY
            QUERY = "y"
        def outer():
            count = 0
            def bump():
                nonlocal count
                count = count + 1
            probe(QUERY, count)
        probe(count)
        """
    )
    assert _values(scopes, "QUERY", site) == ['"x"', '"y"']
    assert _values(scopes, "count", site) == ["0", "count + 1"]
    assert scopes.lookup("count", counter) is None


def test_lambda_and_comprehension_scopes_bind_their_own_names_only() -> None:
    scopes, sites = _walk(
        """
        def f(rows):
            prefix = "p"
            handler = lambda row: probe(row, prefix)
            names = [probe(name, prefix) for name in rows if (seen := name)]
            probe(seen)
        """
    )
    in_lambda, in_comprehension, after = sites
    assert in_lambda.scope.kind == LAMBDA and in_lambda.scope.frame.kind == FUNCTION
    assert in_comprehension.scope.kind == COMPREHENSION
    assert _values(scopes, "row", in_lambda) == ["param"]
    assert _values(scopes, "name", in_comprehension) == ["rows"]
    assert _values(scopes, "prefix", in_lambda) == ['"p"']  # as where the lambda is written
    assert _values(scopes, "prefix", in_comprehension) == ['"p"']
    assert scopes.lookup("name", after) is None  # the comprehension's variable does not leak
    assert _values(scopes, "seen", after) == ["name"]  # a walrus binds in the function around
    assert in_comprehension.blocks == after.blocks  # blocks are the frame's


def test_blocks_say_which_body_a_binding_is_in() -> None:
    scopes, (site,) = _walk(
        """
        def f(flag):
            sql = "a"
            if flag:
                sql = "b"
            with open("x") as handle:
                probe(sql)
        """
    )
    found, _ = scopes.lookup("sql", site)  # type: ignore[misc]
    outer, inner = found
    assert outer.blocks == site.blocks[:1] and len(inner.blocks) == 2
    assert inner.blocks[0] == outer.blocks[0] and inner.blocks[1] != site.blocks[1]
    with_binding = scopes.lookup("handle", site)[0][0]  # type: ignore[index]
    assert with_binding.kind == "with" and isinstance(with_binding.statement, cst.With)


def test_classes_methods_and_attributes() -> None:
    scopes, (site, via_instance) = _walk(
        """
        class Base:
            TABLE = "users"
            def __init__(self, db):
                self.db = db
                self.count += 1
        class Repo(Base):
            COLUMNS = ("id", "name")
            def rows(self):
                probe(self.TABLE, self.db, self.helper())
            def helper(self):
                return self.COLUMNS
        repo = Repo()
        probe(repo.TABLE)
        """
    )
    info = scopes.class_of(cst.Name("self"), site)
    assert info is not None and info.name == "Repo"
    assert [c.name for c in scopes.class_chain(info)] == ["Repo", "Base"]
    class_level, instance = scopes.class_attribute(info, "TABLE")
    assert [cst.Module([]).code_for_node(b.value) for b in class_level] == ['"users"'] and not instance  # type: ignore[arg-type]
    class_level, instance = scopes.class_attribute(info, "db")
    assert not class_level and [b.kind for b in instance] == ["assign"]
    assert [b.operator for b in scopes.class_attribute(info, "count")[1]] == ["+"]
    helper = scopes.function(cst.parse_expression("self.helper"), site)
    assert helper is not None and helper.name == "helper" and helper.self_name == "self"
    assert [cst.Module([]).code_for_node(e) for e, _ in helper.returns] == ["self.COLUMNS"]
    assert scopes.class_of(cst.Name("repo"), via_instance) is info
    assert via_instance.scope.kind == MODULE


def test_mutations_and_items_of_a_local_container() -> None:
    _, (site,) = _walk(
        """
        def f(extra):
            parts = ["a"]
            parts.append("b")
            parts.extend(extra)
            params = {}
            params["limit"] = 10
            probe(parts, params)
        """
    )
    frame = site.scope
    assert [(m.kind, cst.Module([]).code_for_node(m.value)) for m in frame.mutations["parts"]] == [  # type: ignore[arg-type]
        ("assign", '"b"'),
        ("aug", "extra"),
    ]
    (item,) = frame.mutations["params"]
    assert item.kind == "item" and cst.Module([]).code_for_node(item.default) == '"limit"'  # type: ignore[arg-type]


def test_the_same_site_for_every_analysis_asking_at_a_node() -> None:
    scopes, (site,) = _walk("def f(xs):\n    xs.append(probe(1))\n")
    assert scopes.site_at(cst.Name("other")) is not site
    (mutation,) = site.scope.mutations["xs"]
    assert mutation.point < site.point  # the append is visited before the call inside it


def test_unpacking_targets_keep_their_index() -> None:
    scopes, (site,) = _walk(
        """
        def f(pair):
            key, *rest = pair
            for i, (a, b) in enumerate(pair):
                probe(key, rest, a)
        """
    )
    key = scopes.lookup("key", site)[0][0]  # type: ignore[index]
    assert key.kind == "assign" and key.index == 0
    assert scopes.lookup("rest", site)[0][0].kind == "star"  # type: ignore[index]
    a = scopes.lookup("a", site)[0][0]  # type: ignore[index]
    assert a.kind == "for" and a.index == 0  # the nested target's own index
