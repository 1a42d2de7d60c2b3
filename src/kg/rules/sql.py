"""A rule's body as one SQL query over integer-coded triples: DuckDB does the joins.

Terms are integers whose two low bits say what they are (``KIND``): 0 an IRI, 1 an IRI in
Wikidata's entity namespace, 2 a blank node, 3 a literal. So ISLITERAL(?x) is
``(x & 3) = 3`` and keep()'s Wikidata test needs no lookup.

Each body pattern reads one table: ``ax`` (axioms.ttl) for ``GRAPH rl:axioms``, else the
source the semi-naive round assigns (the last round's new triples, the older ones, or all).
A pattern whose other variables appear nowhere else (``?x a ?dt1`` in dt-disjoint) is an
existence check: grouped, with its least matching triple kept as the witness.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rdflib import URIRef, Variable
from rdflib.term import Node

from kg.rules import RL, Atom, Rule

KIND = {"iri": 0, "wikidata": 1, "bnode": 2, "literal": 3}
COLUMNS = ("s", "p", "o")


@dataclass(frozen=True)
class Context:
    """What a compiled query needs besides the rule: term ids and the keep() constants."""

    term_id: Callable[[Node], int]
    same_as: int
    view: tuple[int, ...]  # predicates keep() allows on Wikidata IRIs: labels, owl:sameAs


def body_query(rule: Rule, sources: Sequence[str], ctx: Context) -> str:
    """``SELECT v0, v1, …`` of every match of the body; ``sources[i]`` is the i-th pattern's table."""
    variables = rule.variables
    uses: dict[Variable, int] = {}
    for atom in rule.body:
        for term in atom.pattern:
            if isinstance(term, Variable):
                uses[term] = uses.get(term, 0) + 1
    needed = {t for pattern in rule.head for t in pattern if isinstance(t, Variable)}
    for expr in rule.filters:
        needed |= _variables(expr)
    refs: dict[Variable, str] = {}
    froms: list[str] = []
    where: list[str] = []
    for j, atom in enumerate(rule.body):
        local = {t for t in atom.pattern if isinstance(t, Variable) and uses[t] == 1 and t not in needed}
        table = "ax" if atom.axioms else sources[j]
        if local and len(local) < 3:
            froms.append(_existential(atom, table, local, ctx, f"a{j}"))
        else:
            froms.append(f"{table} AS a{j}")
            local = set()
        for col, term in zip(COLUMNS, atom.pattern, strict=True):
            ref = f"a{j}.w.{col}" if term in local else f"a{j}.{col}"
            if not isinstance(term, Variable):
                if not local:
                    where.append(f"{ref} = {ctx.term_id(term)}")
            elif term in refs:
                where.append(f"{ref} = {refs[term]}")
            else:
                refs[term] = ref
    where += [_expr(e, refs, ctx) for e in rule.filters]
    select = ", ".join(f"{refs[v]} AS v{i}" for i, v in enumerate(variables)) or "1 AS dummy"
    sql = f"SELECT {select} FROM {', '.join(froms) or '(SELECT 1)'}"
    return sql + (f" WHERE {' AND '.join(where)}" if where else "")


def _variables(e: object) -> set[Variable]:
    """The variables of a FILTER expression (rdflib's ``_vars`` misses some, e.g. under IN)."""
    if isinstance(e, Variable):
        return {e}
    if isinstance(e, list):
        return set().union(*(_variables(x) for x in e))
    if hasattr(e, "name") and hasattr(e, "items"):
        return set().union(*(_variables(v) for k, v in e.items() if k != "_vars"))  # type: ignore[attr-defined]
    return set()


def _existential(atom: Atom, table: str, local: set[Variable], ctx: Context, alias: str) -> str:
    keys = [
        c for c, t in zip(COLUMNS, atom.pattern, strict=True) if isinstance(t, Variable) and t not in local
    ]
    cond = [
        f"{c} = {ctx.term_id(t)}"
        for c, t in zip(COLUMNS, atom.pattern, strict=True)
        if not isinstance(t, Variable)
    ]
    witness = ", ".join(f"{c} := {c}" for c, t in zip(COLUMNS, atom.pattern, strict=True) if t in local)
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    where = f" WHERE {' AND '.join(cond)}" if cond else ""
    select = ", ".join([*keys, f"min(struct_pack({witness})) AS w"])
    return f"(SELECT {select} FROM {table}{where}{group}) AS {alias}"


def rule_query(rule: Rule, number: int, sources: Sequence[str], ctx: Context) -> str:
    """Every head triple the body's matches give: ``s, p, o, rule, vars`` (vars: the bindings)."""
    body = body_query(rule, sources, ctx)
    variables = rule.variables
    index = {v: i for i, v in enumerate(variables)}
    bindings = f"[{', '.join(f'v{i}' for i in range(len(variables)))}]::BIGINT[]"

    def term(t: Node) -> str:
        return f"v{index[t]}" if isinstance(t, Variable) else str(ctx.term_id(t))

    selects = [
        f"SELECT {term(s)} AS s, {term(p)} AS p, {term(o)} AS o, {number} AS rule, {bindings} AS vars FROM b"
        for s, p, o in rule.head
    ]
    return f"WITH b AS ({body}) " + " UNION ALL ".join(selects)


def _expr(e: object, refs: dict[Variable, str], ctx: Context) -> str:
    """A FILTER expression in SQL (the subset the rule files use)."""
    if isinstance(e, Variable):
        return refs[e]
    if not hasattr(e, "name"):
        return str(ctx.term_id(e))  # type: ignore[arg-type]
    name = e.name  # type: ignore[attr-defined]
    if name == "RelationalExpression":
        left = _expr(e.expr, refs, ctx)  # type: ignore[attr-defined]
        op = e.op  # type: ignore[attr-defined]
        if op in ("IN", "NOT IN"):
            items = ", ".join(_expr(x, refs, ctx) for x in e.other)  # type: ignore[attr-defined]
            return f"({left} {op} ({items}))"
        if op not in ("=", "!="):
            raise ValueError(f"unsupported comparison {op}")
        return f"({left} {op} {_expr(e.other, refs, ctx)})"  # type: ignore[attr-defined]
    if name in ("ConditionalAndExpression", "ConditionalOrExpression"):
        joiner = " AND " if name == "ConditionalAndExpression" else " OR "
        parts = [e.expr, *e.other]  # type: ignore[attr-defined]
        return "(" + joiner.join(_expr(x, refs, ctx) for x in parts) + ")"
    if name == "UnaryNot":
        return f"(NOT {_expr(e.expr, refs, ctx)})"  # type: ignore[attr-defined]
    if name == "Builtin_isLITERAL":
        return f"(({_expr(e.arg, refs, ctx)} & 3) = {KIND['literal']})"  # type: ignore[attr-defined]
    if name == "Builtin_isBLANK":
        return f"(({_expr(e.arg, refs, ctx)} & 3) = {KIND['bnode']})"  # type: ignore[attr-defined]
    if name == "Builtin_isIRI":
        return f"(({_expr(e.arg, refs, ctx)} & 3) < {KIND['bnode']})"  # type: ignore[attr-defined]
    if name == "Builtin_DATATYPE":
        return f"(SELECT dt FROM lit WHERE lit.id = {_expr(e.arg, refs, ctx)})"  # type: ignore[attr-defined]
    if name == "Function" and e.iri == RL.keep:  # type: ignore[attr-defined]
        s, p, o = (_expr(x, refs, ctx) for x in e.expr)  # type: ignore[attr-defined]
        return keep_sql(s, p, o, ctx)
    if name == "Function" and e.iri == RL.representative:  # type: ignore[attr-defined]
        return f"({_expr(e.expr[0], refs, ctx)} IN (SELECT id FROM rep))"  # type: ignore[attr-defined]
    raise ValueError(f"unsupported FILTER expression {name}")


def keep_sql(s: str, p: str, o: str, ctx: Context) -> str:
    """reason.keep() in SQL: no literal subject, no reflexive owl:sameAs, on Wikidata IRIs only the view."""
    wd = KIND["wikidata"]
    view = ", ".join(str(v) for v in ctx.view) or "NULL"
    return (
        f"(({s} & 3) != {KIND['literal']} AND NOT ({p} = {ctx.same_as} AND {s} = {o})"
        f" AND ({p} IN ({view}) OR (({s} & 3) != {wd} AND ({o} & 3) != {wd})))"
    )


def constants(rule: Rule) -> set[Node]:
    """Every IRI or literal a rule names (body, head, filters): the dictionary must hold them."""
    found: set[Node] = set()
    for pattern in [a.pattern for a in rule.body] + list(rule.head):
        found |= {t for t in pattern if not isinstance(t, Variable)}

    def visit(e: object) -> None:
        if isinstance(e, URIRef) and not str(e).startswith(str(RL)):
            found.add(e)
        elif isinstance(e, list):
            for x in e:
                visit(x)
        elif hasattr(e, "name") and hasattr(e, "items"):
            for key, value in e.items():  # type: ignore[attr-defined]
                if key not in ("iri", "_vars"):
                    visit(value)

    for expr in rule.filters:
        visit(expr)
    return found
