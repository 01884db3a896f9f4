"""Reading the text of messages out of source code (for the tests that check every user-facing message holds
Vietnamese: ``test_errors_bilingual.py``, ``test_texts_vi_io.py``)."""

from __future__ import annotations

import ast


def module_constants(tree: ast.Module) -> dict[str, ast.AST]:
    """Module-level names bound to a value (``_FORMAT_HINT = "..."``), to read the messages they hold."""
    return {
        t.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }


def literal_text(node: ast.AST | None, consts: dict[str, ast.AST], seen: frozenset[str] = frozenset()) -> str:
    """Every string literal under ``node``, with the module constants it names read in place ('' for None)."""
    if node is None:
        return ""
    out = []
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            out.append(n.value)
        elif isinstance(n, ast.Name) and n.id in consts and n.id not in seen:
            out.append(literal_text(consts[n.id], consts, seen | {n.id}))
    return " ".join(out)
