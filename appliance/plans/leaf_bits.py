"""One row through boosted trees without stepping down them level by level: leaves as bits.

QuickScorer (Lucchese et al., SIGIR 2015): number each tree's leaves left to right as the bits of a
word; a node that sends the row right rules out the leaves of its left subtree, so the row's leaf is
the lowest bit that no node ruled out. All nodes decide at once, so a tree costs the same whatever its
depth. `feature_walk` tabulates that per feature; `bit_walk` does it node by node; `oblivious_walk`
serves CatBoost's oblivious trees as CatBoost does. The node rules are those of
`appliance.plans.trees` (a number goes left when at most the threshold; NaN, and zero where a node
reads zero as missing, go the node's missing way; a category by its table row).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

Finish = Callable[[np.ndarray], np.ndarray]
ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| at most this is zero


def oblivious_walk(arrays: dict[str, np.ndarray], finish: Finish) -> Callable[[np.ndarray], np.ndarray] | None:
    """One row through oblivious trees (CatBoost's) as CatBoost walks them: every tree tests one split
    per level, whatever the path, so all splits decide at once and each tree's leaf is its bits read as
    a number (level d is bit d). Far fewer tests than the same trees unfolded. None for other trees."""
    if "oblivious_column" not in arrays:
        return None
    columns, borders = arrays["oblivious_column"], arrays["oblivious_border"]
    trees, depth = columns.shape
    flat_columns, flat_borders = columns.ravel(), borders.ravel()
    nan_above = arrays["oblivious_nan_above"].ravel()
    powers = (1 << np.arange(depth)).astype(np.intp)
    leaves = arrays["oblivious_leaves"].ravel()
    offsets = np.arange(trees, dtype=np.intp) * arrays["oblivious_leaves"].shape[1]

    def one(row: np.ndarray) -> np.ndarray:
        x = row.take(flat_columns)
        above = x > flat_borders
        if np.isnan(row).any():
            above = np.where(np.isnan(x), nan_above, above)
        return finish(leaves.take(offsets + above.reshape(trees, depth).astype(np.intp) @ powers))

    return one


def feature_walk(arrays: dict[str, np.ndarray], finish: Finish) -> Callable[[np.ndarray], np.ndarray] | None:
    """One row by feature rather than by node (QuickScorer's bit vectors, tabulated per feature): the
    nodes on a numeric feature that send a value right are those whose threshold is below it, so for
    each count of thresholds below, the leaves ruled out in each tree are tabulated once (and for a
    missing value, and for each category code). A row then costs one comparison against each feature's
    distinct thresholds, one table row per feature, and one OR per tree. None when a tree has more than
    64 leaves, a node reads zero as missing, or the tables would pass `TABLE_BYTES`."""
    layout = _bit_layout(arrays)
    if layout is None or arrays["zero_missing"].any():
        return None
    tables = _feature_tables(arrays, layout)
    if tables is None:
        return None
    numeric_columns, thresholds, first_rows, nan_rows, category_columns, category_rows, table = tables
    leaf_values, leaf_offsets = layout[2], layout[3]
    other = arrays["category_table"].shape[1] - 1
    one_bit = np.uint64(1)

    def one(row: np.ndarray) -> np.ndarray:
        x = row.take(numeric_columns)
        below = (thresholds < x[:, None]).sum(axis=1)  # NaN: none below, then its own row
        rows = np.where(np.isnan(x), nan_rows, first_rows + below)
        if len(category_columns):
            codes = row.take(category_columns)
            codes = np.where((codes >= 0) & (codes < other), codes, other).astype(np.intp)
            rows = np.concatenate((rows, np.where(np.isnan(row.take(category_columns)), category_rows[:, -1],
                                                  category_rows[np.arange(len(codes)), codes])))
        kept = ~np.bitwise_or.reduce(table.take(rows, axis=0), axis=0)
        lowest = kept & (~kept + one_bit)
        position = np.frexp(lowest.astype(np.float64))[1] - 1  # exact: a power of two
        return finish(leaf_values.take(leaf_offsets + position))

    return one


TABLE_BYTES = 64 * 2 ** 20  # at most this much for one plan's per-feature tables


def _feature_tables(arrays: dict[str, np.ndarray], layout: tuple[Any, ...]) -> tuple[np.ndarray, ...] | None:
    """(numeric columns, their distinct thresholds padded with +inf, each one's first table row, each
    one's missing-value row, categorical columns, their rows per code (last: missing), the table of
    leaves ruled out per tree)."""
    node_tree, node_bits = _node_trees(arrays, layout)
    trees = len(arrays["roots"])
    internal = np.flatnonzero(~arrays["is_leaf"])
    categorical = arrays["is_categorical"]
    numeric_nodes, category_nodes = internal[~categorical[internal]], internal[categorical[internal]]
    numeric_columns = np.unique(arrays["feature"][numeric_nodes])
    category_columns = np.unique(arrays["feature"][category_nodes])
    codes = arrays["category_table"].shape[1]
    distinct = [np.unique(arrays["threshold"][numeric_nodes[arrays["feature"][numeric_nodes] == c]])
                for c in numeric_columns]
    count = sum(len(d) + 2 for d in distinct) + len(category_columns) * (codes + 1)
    if count * trees * 8 > TABLE_BYTES:
        return None
    table = np.zeros((count, trees), dtype=np.uint64)
    width = max([len(d) for d in distinct] + [0])
    thresholds = np.full((len(numeric_columns), width), np.inf)
    first_rows, nan_rows, at = [], [], 0
    for i, (column, values) in enumerate(zip(numeric_columns, distinct)):
        nodes = numeric_nodes[arrays["feature"][numeric_nodes] == column]
        thresholds[i, :len(values)] = values
        rank = np.searchsorted(values, arrays["threshold"][nodes])  # right when its threshold is below x
        np.bitwise_or.at(table, (at + 1 + rank, node_tree[nodes]), node_bits[nodes])
        table[at:at + len(values) + 1] = np.bitwise_or.accumulate(table[at:at + len(values) + 1], axis=0)
        missing = nodes[~arrays["nan_left"][nodes]]
        np.bitwise_or.at(table, (np.full(len(missing), at + len(values) + 1), node_tree[missing]), node_bits[missing])
        first_rows.append(at)
        nan_rows.append(at + len(values) + 1)
        at += len(values) + 2
    category_rows = np.zeros((len(category_columns), codes + 1), dtype=np.intp)
    goes_right = ~arrays["category_table"]
    for i, column in enumerate(category_columns):
        nodes = category_nodes[arrays["feature"][category_nodes] == column]
        for code in range(codes):
            right = nodes[goes_right[arrays["category_row"][nodes], code]]
            np.bitwise_or.at(table, (np.full(len(right), at + code), node_tree[right]), node_bits[right])
        missing = nodes[~arrays["nan_left"][nodes]]
        np.bitwise_or.at(table, (np.full(len(missing), at + codes), node_tree[missing]), node_bits[missing])
        category_rows[i] = np.arange(at, at + codes + 1)
        at += codes + 1
    return (numeric_columns, thresholds, np.array(first_rows, dtype=np.intp), np.array(nan_rows, dtype=np.intp),
            category_columns, category_rows, table)


def _node_trees(arrays: dict[str, np.ndarray], layout: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each node's tree and the leaves (bits) it rules out when it sends a row right."""
    node_tree = np.zeros(len(arrays["is_leaf"]), dtype=np.intp)
    node_bits = np.zeros(len(arrays["is_leaf"]), dtype=np.uint64)
    for part in layout[:2]:
        bits, starts, nodes = part[-3], part[-2], part[-1]
        tree_of = np.searchsorted(starts, np.arange(len(nodes)), side="right") - 1
        real = nodes >= 0
        node_tree[nodes[real]] = tree_of[real]
        node_bits[nodes[real]] = bits[real]
    return node_tree, node_bits


def bit_walk(arrays: dict[str, np.ndarray], finish: Finish) -> Callable[[np.ndarray], np.ndarray] | None:
    """One row, without walking (QuickScorer: Lucchese et al., SIGIR 2015): each tree's leaves are bits,
    left to right; a node that sends the row right rules out the leaves of its left subtree, so the
    row's leaf is the lowest bit no such node ruled out. Every node decides at once and one `reduceat`
    ORs each tree's ruled-out bits: no step per level. Numeric and categorical nodes are two passes
    (each tree leads each with a node that rules out nothing). For trees of at most 64 leaves (None
    otherwise: the level-by-level walk serves)."""
    layout = _bit_layout(arrays)
    if layout is None:
        return None
    numeric, categorical, leaf_values, leaf_offsets = layout
    feature, threshold, nan_right, zero_missing, cleared_by, starts, _ = numeric
    any_zero = bool(zero_missing.any())
    category_feature, category_index, category_nan_right, category_cleared_by, category_starts, _ = categorical
    table = arrays["category_table"]
    other = table.shape[1] - 1
    goes_right_flat = ~table.ravel()
    one_bit = np.uint64(1)

    def one(row: np.ndarray) -> np.ndarray:
        missing = np.isnan(row).any()
        x = row.take(feature)
        right = x > threshold
        if missing:
            right = np.where(np.isnan(x), nan_right, right)
        if any_zero:
            right = np.where(zero_missing & (np.abs(x) <= ZERO), nan_right, right)
        cleared = np.bitwise_or.reduceat(cleared_by * right.view(np.uint8), starts)
        if len(category_feature):
            codes = np.where((row >= 0) & (row < other), row, other).astype(np.intp)  # NaN: other (then missing)
            right = goes_right_flat.take(category_index + codes.take(category_feature))
            if missing:
                right = np.where(np.isnan(row.take(category_feature)), category_nan_right, right)
            cleared |= np.bitwise_or.reduceat(category_cleared_by * right.view(np.uint8), category_starts)
        kept = ~cleared
        lowest = kept & (~kept + one_bit)
        position = np.frexp(lowest.astype(np.float64))[1] - 1  # exact: a power of two
        return finish(leaf_values.take(leaf_offsets + position))

    return one


def _bit_layout(arrays: dict[str, np.ndarray]) -> tuple[Any, ...] | None:
    """(numeric part, categorical part, leaf values left to right, each tree's first leaf), or None when
    a tree has more than 64 leaves. A part lists its nodes tree by tree, each tree led by a node that
    rules out no leaf: (feature, [threshold, NaN goes right, zero is missing | table index, NaN goes
    right], leaves each rules out when it sends the row right, each tree's first position, node)."""
    left, right, leaf = arrays["left"].tolist(), arrays["right"].tolist(), arrays["is_leaf"].tolist()
    categorical = arrays["is_categorical"].tolist()
    parts: dict[bool, tuple[list[int], list[int], list[int]]] = {False: ([], [], []), True: ([], [], [])}
    leaves: list[int] = []
    offsets: list[int] = []
    for root in arrays["roots"].tolist():
        offsets.append(len(leaves))
        internal: list[int] = []
        clears: list[int] = []
        _collect(root, left, right, leaf, internal, clears, leaves, len(leaves))
        if len(leaves) - offsets[-1] > 64:
            return None
        for kind, (nodes, bits, starts) in parts.items():
            starts.append(len(nodes))
            nodes.append(-1)  # the tree's lead: rules out nothing
            bits.append(0)
            chosen = [(n, b) for n, b in zip(internal, clears) if categorical[n] == kind]
            nodes += [n for n, _ in chosen]
            bits += [b for _, b in chosen]
    return (_part(arrays, *parts[False], categorical=False), _part(arrays, *parts[True], categorical=True),
            arrays["value"][np.array(leaves, dtype=np.intp)], np.array(offsets, dtype=np.intp))


def _part(arrays: dict[str, np.ndarray], nodes: list[int], bits: list[int], starts: list[int], *,
          categorical: bool) -> tuple[np.ndarray, ...]:
    index = np.array(nodes, dtype=np.intp)
    lead = index < 0
    at = np.where(lead, 0, index)
    feature = np.where(lead, 0, arrays["feature"][at])
    nan_right = np.where(lead, False, ~arrays["nan_left"][at])
    cleared_by = np.array(bits, dtype=np.uint64)
    first = np.array(starts, dtype=np.intp)
    if categorical:
        table_index = np.where(lead, 0, arrays["category_row"][at]) * arrays["category_table"].shape[1]
        return feature, table_index, nan_right, cleared_by, first, index
    threshold = np.where(lead, np.inf, arrays["threshold"][at])
    zero_missing = np.where(lead, False, arrays["zero_missing"][at])
    return feature, threshold, nan_right, zero_missing, cleared_by, first, index


def _collect(node: int, left: list[int], right: list[int], leaf: list[bool], internal: list[int],
             clears: list[int], leaves: list[int], first: int) -> None:
    """Depth first, left before right: what a node rules out when it sends the row right is the bits
    of its left subtree's leaves."""
    if leaf[node]:
        leaves.append(node)
        return
    position, begin = len(internal), len(leaves) - first
    internal.append(node)
    clears.append(0)
    _collect(left[node], left, right, leaf, internal, clears, leaves, first)
    end = len(leaves) - first
    clears[position] = (((1 << (end - begin)) - 1) << begin) & (2 ** 64 - 1)
    _collect(right[node], left, right, leaf, internal, clears, leaves, first)
