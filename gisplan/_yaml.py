"""Reading YAML that a user or a stored version supplies: UTF-8 only, aliases bounded.

PyYAML's ``safe_load`` builds nothing dangerous, but an alias is a reference: nine
anchors of nine aliases each (a 1 KB "billion laughs" file) load instantly as a
shared structure that expands to 387 million strings as soon as anything walks it
(a message printing the value, ``json.dumps``, ``yaml.safe_dump``).  :func:`load_yaml`
composes the node graph first and counts the nodes every alias expands to, before
any Python value is built; a document whose aliases add more than
:data:`MAX_ALIAS_NODES` nodes, or an alias that contains itself, is refused.

:func:`read_utf8` reads a text file and turns a decoding error into a
:class:`YamlInputError` naming the byte and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["MAX_ALIAS_NODES", "YamlInputError", "load_yaml", "read_utf8"]

#: Nodes that aliases may add to a document once expanded (the anchored blocks themselves are not counted).
#: A scenario reusing a few parameter blocks adds tens; the smallest alias bomb that hurts adds millions.
MAX_ALIAS_NODES = 10_000


class YamlInputError(ValueError):
    """The YAML text cannot be used; ``str(exc)`` says why and what fixes it. Callers re-raise their own error."""


def read_utf8(path: str | Path) -> str:
    """Read the text file at ``path`` as UTF-8 (a byte-order mark is dropped).

    Raises
    ------
    YamlInputError
        When the file is not UTF-8: the message names the byte offset and how to save it as UTF-8.
    OSError
        When the file cannot be read.
    """
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlInputError(
            f"{path} is not UTF-8 text (byte {exc.start}, line {line}: {raw[exc.start : exc.start + 4]!r}); "
            "save it as UTF-8 (in Notepad: Save As, Encoding UTF-8; in Notepad++: Encoding, Convert to UTF-8) "
            f"/ tệp {path} không phải văn bản UTF-8 (byte {exc.start}, dòng {line}); hãy lưu lại dạng UTF-8 (trong "
            "Notepad: Save As, chọn Encoding UTF-8; trong Notepad++: Encoding, Convert to UTF-8)"
        ) from None


_RECURSIVE_ALIAS = (
    "an alias refers to the block that contains it (recursive alias); remove it "
    "/ một bí danh trỏ tới chính khối chứa nó (bí danh đệ quy); hãy bỏ bí danh đó"
)
_TOO_DEEP = (
    "the YAML nests too deeply to read (thousands of levels); flatten it "
    "/ tệp YAML lồng quá sâu để đọc (hàng nghìn cấp); hãy giảm số cấp lồng"
)


def _expanded_size(root: yaml.Node) -> tuple[int, int]:
    """(distinct nodes, nodes once every alias is expanded) of a composed document; refuses cycles."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()
    # iterative post-order walk: a deep document must not exhaust Python's stack
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            children = _children(node)
            total = 1 + sum(sizes[id(c)] for c in children)
            sizes[key] = total
            open_.discard(key)
            if total > (1 << 62):  # pragma: no cover - guards integer growth only
                break
            continue
        if key in sizes:
            continue
        if key in open_:
            raise YamlInputError(_RECURSIVE_ALIAS)
        open_.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_ and id(child) not in sizes:
                raise YamlInputError(_RECURSIVE_ALIAS)
            if id(child) not in sizes:
                stack.append((child, False))
    return len(sizes), sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml(text: str, *, max_alias_nodes: int = MAX_ALIAS_NODES) -> Any:
    """Parse YAML ``text`` with the safe loader, refusing alias bombs before any value is built.

    Parameters
    ----------
    text
        The YAML document.
    max_alias_nodes
        Nodes the aliases may add once expanded.

    Raises
    ------
    YamlInputError
        Aliases expanding beyond ``max_alias_nodes``, a recursive alias, or nesting too deep to read.
    yaml.YAMLError
        Text that is not YAML (callers report the line).
    """
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YamlInputError(_TOO_DEEP) from None
        if node is None:
            return None
        distinct, expanded = _expanded_size(node)
        if expanded - distinct > max_alias_nodes:
            raise YamlInputError(
                f"its aliases (*name) expand to {expanded:,} values from {distinct:,} written: more than "
                f"{max_alias_nodes:,} added (refused as a YAML alias bomb); write the values out instead of aliases "
                f"/ các bí danh (*tên) bung ra thành {expanded:,} giá trị từ {distinct:,} giá trị đã viết: thêm hơn "
                f"{max_alias_nodes:,} (bị từ chối vì có thể là 'bom bí danh' YAML); hãy ghi thẳng các giá trị thay vì "
                "dùng bí danh"
            )
        try:
            return loader.construct_document(node)
        except RecursionError:
            raise YamlInputError(_TOO_DEEP) from None
    finally:
        loader.dispose()
