"""DLE's loss models as lookup tables: boosted trees whose every path reads at most two inputs, summed
into one table per pair of inputs, so a row's predicted losses are a few table look-ups, not a walk
down a hundred trees.

The trees are scikit-learn's HistGradientBoostingRegressor fitted with `interaction_cst="pairwise"`
(a path that split on inputs a and b may only split on a or b below). Each leaf is then a box over at
most two inputs, and the model is exactly `constant + sum over pairs of T_ab[bin(a), bin(b)]`. Bins
are the inputs' own cut points in the trees: a number's bin is how many of its thresholds lie below
it (`x <= t` goes left, as the trees decide), NaN has a bin of its own; a category's bin is its code
(0..255), and NaN, a negative code or one the trees never saw share the missing bin (the trees send
those their missing way). `tables_of` checks the tables against the trees' own predictions.

The result is plain arrays (`to_arrays` / `from_arrays`), kept in the version's estimation reference
and read without unpickling, so a stored version predicts without refitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

CATEGORY_BINS = 256  # scikit-learn's categorical codes are 0..255; bin 256 is missing or unknown
BLOCK_ROWS = 32_768
GRID_BITS = 16  # a number's bins are found through at most 2**16 + 1 equal ranges of its bits
MAX_STEPS = 8  # more thresholds than this in one range: a binary search instead
TOLERANCE = 1e-6  # relative: the tables sum leaves in another order than the trees do


@dataclass(frozen=True, slots=True)
class LossTables:
    """Several loss models over the same inputs: per numeric input its sorted thresholds (empty for a
    category), and terms (one or two inputs, a table with the models on the last axis)."""

    thresholds: tuple[np.ndarray, ...]
    categorical: tuple[bool, ...]
    constant: np.ndarray  # (models,)
    terms: tuple[tuple[tuple[int, ...], np.ndarray], ...]

    def bins(self, inputs: np.ndarray, grids: dict[int, Grid] | None = None) -> dict[int, np.ndarray]:
        """Each input column a term reads as bin numbers (intp), in the trees' rule."""
        grids = self.grids() if grids is None else grids
        return {f: _category_bins(inputs[:, f]) if self.categorical[f] else grids[f].bins(inputs[:, f])
                for f in self.used()}

    def used(self) -> list[int]:
        return sorted({f for features, _ in self.terms for f in features})

    def grids(self) -> dict[int, Grid]:
        return {f: Grid.of(self.thresholds[f]) for f in self.used() if not self.categorical[f]}

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """(rows, models): every model's prediction for every row, one look-up per term and model, in
        blocks of BLOCK_ROWS rows (a block's arrays stay in cache)."""
        out = np.empty((inputs.shape[0], len(self.constant)))
        flat = [(features, table.shape[1] if len(features) == 2 else 0,
                 [np.ascontiguousarray(table[..., m]).ravel() for m in range(table.shape[-1])])
                for features, table in self.terms]
        grids = self.grids()
        for start in range(0, inputs.shape[0], BLOCK_ROWS):
            block = inputs[start:start + BLOCK_ROWS]
            bins = self.bins(block, grids)
            sums = [np.full(block.shape[0], c) for c in self.constant]
            for features, width, tables in flat:
                index = bins[features[0]] if not width else bins[features[0]] * width + bins[features[1]]
                for total, table in zip(sums, tables):
                    total += table.take(index)
            out[start:start + BLOCK_ROWS] = np.column_stack(sums)
        return out

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        arrays = {f"{prefix}constant": self.constant, f"{prefix}categorical": np.asarray(self.categorical, dtype=bool),
                  f"{prefix}term_features": np.array([list(f) + [-1] * (2 - len(f)) for f, _ in self.terms],
                                                     dtype=np.int64).reshape(-1, 2)}
        for f, cuts in enumerate(self.thresholds):
            arrays[f"{prefix}thresholds_{f}"] = cuts
        for i, (_, table) in enumerate(self.terms):
            arrays[f"{prefix}term_{i}"] = table
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> LossTables:
        """The tables back from `to_arrays`; KeyError or ValueError if they are incomplete or inconsistent."""
        categorical = tuple(bool(v) for v in arrays[f"{prefix}categorical"])
        thresholds = tuple(np.asarray(arrays[f"{prefix}thresholds_{f}"], dtype=np.float64)
                           for f in range(len(categorical)))
        if any(len(t) and not np.all(np.diff(t) > 0) for t in thresholds):
            raise ValueError("loss table thresholds are not strictly increasing")
        terms = []
        for i, row in enumerate(np.asarray(arrays[f"{prefix}term_features"], dtype=np.int64)):
            features = tuple(int(f) for f in row if f >= 0)
            table = np.asarray(arrays[f"{prefix}term_{i}"], dtype=np.float64)
            if not features or any(f >= len(categorical) for f in features):
                raise ValueError(f"loss table {i} does not fit its inputs")
            shape = tuple(_bin_count(categorical[f], thresholds[f]) for f in features)
            if table.shape[:-1] != shape:
                raise ValueError(f"loss table {i} does not fit its inputs")
            terms.append((features, table))
        constant = np.asarray(arrays[f"{prefix}constant"], dtype=np.float64)
        if any(t.shape[-1] != len(constant) for _, t in terms):
            raise ValueError("loss tables disagree on the number of models")
        return cls(thresholds, categorical, constant, tuple(terms))


def tables_of(models: list[Any], categorical: list[bool], inputs: np.ndarray) -> LossTables:
    """Fitted pairwise-constrained HistGradientBoostingRegressors (same inputs) as one LossTables,
    checked against the models' predictions on `inputs`."""
    views = [_ModelView.of(model, len(categorical)) for model in models]
    thresholds = tuple(np.zeros(0) if categorical[f] else np.unique(np.concatenate(
        [np.zeros(0)] + [view.thresholds(f) for view in views])) for f in range(len(categorical)))
    shape = [_bin_count(categorical[f], thresholds[f]) for f in range(len(categorical))]
    constant = np.array([float(np.asarray(m._baseline_prediction).ravel()[0]) for m in models])
    leaves: dict[tuple[int, ...], list[tuple[int, float, list[np.ndarray]]]] = {}
    for m, view in enumerate(views):
        for tree in view.trees:
            for value, boxes in _leaves(tree, view, thresholds, shape):
                if not boxes:
                    constant[m] += value
                elif len(boxes) > 2:
                    raise ValueError("a loss model's path reads more than two inputs; fit it with "
                                     "interaction_cst='pairwise'")
                else:
                    leaves.setdefault(tuple(sorted(boxes)), []).append((m, value, [boxes[f] for f in sorted(boxes)]))
    singles = {key[0]: _table(found, len(models)) for key, found in leaves.items() if len(key) == 1}
    pairs = {(key[0], key[1]): _table(found, len(models)) for key, found in leaves.items() if len(key) == 2}
    tables = LossTables(thresholds, tuple(categorical), constant, _fold(singles, pairs, len(models)))
    expected = np.column_stack([model.predict(inputs) for model in models])
    found = tables.predict(inputs)
    if not np.allclose(found, expected, rtol=TOLERANCE, atol=TOLERANCE * float(np.max(np.abs(expected), initial=1.0))):
        raise ValueError("the loss tables do not reproduce the loss models")
    return tables


@dataclass(frozen=True, slots=True)
class _ModelView:
    """A fitted model's trees in terms of its inputs: `column[i]` is the input the trees call feature i
    (scikit-learn puts categorical inputs first), `codes[f]` maps a category bin of input f to the code
    the trees use (-1: unknown, goes the missing way), `known[f]` which of those codes the trees know."""

    trees: list[Any]
    column: np.ndarray
    codes: dict[int, np.ndarray]
    known: dict[int, np.ndarray]

    @classmethod
    def of(cls, model: Any, features: int) -> _ModelView:
        trees = [iteration[0] for iteration in model._predictors]
        preprocessor = getattr(model, "_preprocessor", None)
        if preprocessor is None:
            return cls(trees, np.arange(features), {}, {})
        parts = {name: np.flatnonzero(np.asarray(columns)) for name, _, columns in preprocessor.transformers_
                 if name in ("encoder", "numerical")}
        encoded = parts.get("encoder", np.zeros(0, dtype=np.intp))
        column = np.concatenate([encoded, parts.get("numerical", np.zeros(0, dtype=np.intp))])
        if sorted(column.tolist()) != list(range(features)):
            raise ValueError("the loss model's inputs are not the expected columns")
        categories = preprocessor.named_transformers_["encoder"].categories_ if len(encoded) else []
        bitsets, feature_map = model._bin_mapper.make_known_categories_bitsets()
        codes, known = {}, {}
        for i, f in enumerate(encoded):
            values = np.asarray(categories[i], dtype=np.float64)
            mapping = np.full(CATEGORY_BINS + 1, -1, dtype=np.intp)
            for code, value in enumerate(values):
                if 0 <= value < CATEGORY_BINS and value == int(value):
                    mapping[int(value)] = code
            codes[int(f)] = mapping
            known[int(f)] = _bits(bitsets[feature_map[i]])
        return cls(trees, column, codes, known)

    def thresholds(self, f: int) -> np.ndarray:
        """Every numeric threshold the trees use on input f."""
        found = [t.nodes["num_threshold"][(self.column[t.nodes["feature_idx"]] == f) & ~t.nodes["is_leaf"].astype(bool)
                                          & ~t.nodes["is_categorical"].astype(bool)] for t in self.trees]
        return np.concatenate([np.zeros(0)] + found)


def _bin_count(categorical: bool, thresholds: np.ndarray) -> int:
    return CATEGORY_BINS + 1 if categorical else len(thresholds) + 2


@dataclass(frozen=True, slots=True)
class Grid:
    """A number's bin (how many thresholds lie below it; NaN: the bin after the last) without a binary
    search per value, which cost more than every table look-up together. A float's bits, read as an
    integer with the negative ones' magnitude bits flipped, order as the floats do; cut into at most
    2**GRID_BITS equal ranges, `below[g]` counts the thresholds below range g, and the few thresholds
    inside a range are stepped over one comparison at a time (`steps`: the most in any range). Where
    thresholds crowd into one range, a binary search after all (`steps` = -1)."""

    thresholds: np.ndarray  # sorted, -0.0 as 0.0, with +inf appended
    first: int  # the first and last thresholds' keys
    last: int
    shift: int
    below: np.ndarray
    steps: int

    @classmethod
    def of(cls, thresholds: np.ndarray) -> Grid:
        cuts = np.asarray(thresholds, dtype=np.float64) + 0.0
        padded = np.append(cuts, np.inf)
        if not len(cuts):
            return cls(padded, 0, 0, 0, np.zeros(1, dtype=np.intp), 0)
        keys = _keys(cuts)
        first, last = int(keys[0]), int(keys[-1])
        shift = max(0, (last - first).bit_length() - GRID_BITS)
        starts = np.arange(((last - first) >> shift) + 1, dtype=np.uint64) << np.uint64(shift)
        below = np.searchsorted(_offsets(keys, first), starts, side="left").astype(np.intp)
        steps = int(np.max(np.diff(np.append(below, len(cuts)))))
        return cls(padded, first, last, shift, below, steps if steps <= MAX_STEPS else -1)

    def bins(self, column: np.ndarray) -> np.ndarray:
        values = np.asarray(column, dtype=np.float64) + 0.0
        count = len(self.thresholds) - 1
        if self.steps < 0:
            found = np.searchsorted(self.thresholds[:-1], values, side="left")
        else:
            keys = np.clip(_keys(values), self.first, self.last)  # beyond the ends: the end range's steps
            found = self.below.take((_offsets(keys, self.first) >> np.uint64(self.shift)).astype(np.intp))
            for _ in range(self.steps):
                found += values > self.thresholds.take(found)
        found[np.isnan(values)] = count + 1
        return found


def _offsets(keys: np.ndarray, first: int) -> np.ndarray:
    """keys - first, as unsigned (the span of two int64 keys can exceed int64)."""
    return keys.astype(np.uint64) - np.uint64(first % 2 ** 64)


def _keys(values: np.ndarray) -> np.ndarray:
    """Integers in the floats' order (for finite values, infinities, and 0.0; not -0.0 or NaN)."""
    bits = values.view(np.int64)
    return bits ^ ((bits >> 63) & np.int64(0x7FFF_FFFF_FFFF_FFFF))


def _category_bins(column: np.ndarray) -> np.ndarray:
    valid = (column >= 0) & (column < CATEGORY_BINS)  # False for NaN
    return np.where(valid, np.trunc(np.where(valid, column, 0)), CATEGORY_BINS).astype(np.intp)


def _bits(bitset: np.ndarray) -> np.ndarray:
    words = np.asarray(bitset, dtype=np.uint32)
    codes = np.arange(CATEGORY_BINS)
    return ((words[codes // 32] >> (codes % 32).astype(np.uint32)) & 1).astype(bool)


def _leaves(tree: Any, view: _ModelView, thresholds: tuple[np.ndarray, ...],
            shape: list[int]) -> list[tuple[float, dict[int, np.ndarray]]]:
    """Each leaf's value and box: per input its path reads, the bins that reach the leaf."""
    nodes, bitsets = tree.nodes, tree.raw_left_cat_bitsets
    found: list[tuple[float, dict[int, np.ndarray]]] = []
    stack: list[tuple[int, dict[int, np.ndarray]]] = [(0, {})]
    while stack:
        index, boxes = stack.pop()
        node = nodes[index]
        if node["is_leaf"]:
            found.append((float(node["value"]), boxes))
            continue
        f = int(view.column[int(node["feature_idx"])])
        if node["is_categorical"]:
            left = _category_left(node, view.codes[f], view.known[f], bitsets)
        else:
            left = _number_left(node, thresholds[f])
        current = boxes.get(f, np.ones(shape[f], dtype=bool))
        stack.append((int(node["left"]), {**boxes, f: current & left}))
        stack.append((int(node["right"]), {**boxes, f: current & ~left}))
    return found


def _table(leaves: list[tuple[int, float, list[np.ndarray]]], models: int) -> np.ndarray:
    """Sum the leaves of one term (all on the same inputs) into its table, models on the last axis: the
    sum of value x box over leaves, as one matrix product per model."""
    tables = []
    for m in range(models):
        mine = [(value, boxes) for model, value, boxes in leaves if model == m]
        shape = tuple(len(b) for b in leaves[0][2])
        if not mine:
            tables.append(np.zeros(shape))
            continue
        values = np.array([v for v, _ in mine])
        first = np.array([boxes[0] for _, boxes in mine], dtype=np.float64) * values[:, None]
        if len(shape) == 1:
            tables.append(first.sum(axis=0))
        else:
            tables.append(first.T @ np.array([boxes[1] for _, boxes in mine], dtype=np.float64))
    return np.stack(tables, axis=-1)


def _number_left(node: Any, thresholds: np.ndarray) -> np.ndarray:
    """Which bins of a number the node sends left: at most its threshold, and NaN if missing goes left."""
    left = np.zeros(len(thresholds) + 2, dtype=bool)
    left[:int(np.searchsorted(thresholds, node["num_threshold"], side="left")) + 1] = True
    left[-1] = bool(node["missing_go_to_left"])
    return left


def _category_left(node: Any, codes: np.ndarray, known: np.ndarray, bitsets: np.ndarray) -> np.ndarray:
    """Which category bins the node sends left: known codes by its bitset; unknown, invalid and missing
    the missing way."""
    valid = codes >= 0
    safe = np.where(valid, codes, 0)
    is_known = valid & known[safe]
    return np.where(is_known, _bits(bitsets[int(node["bitset_idx"])])[safe], bool(node["missing_go_to_left"]))


def _fold(singles: dict[int, np.ndarray], pairs: dict[tuple[int, int], np.ndarray], models: int) -> tuple[tuple[tuple[int, ...], np.ndarray], ...]:
    """One term per pair; a single input's table is added into a pair that reads it (one look-up fewer)."""
    terms: list[tuple[tuple[int, ...], np.ndarray]] = []
    for f, table in sorted(singles.items()):
        host = next((pair for pair in sorted(pairs) if f in pair), None)
        if host is None:
            terms.append(((f,), table))
        elif host[0] == f:
            pairs[host] += table[:, None, :]
        else:
            pairs[host] += table[None, :, :]
    terms.extend((pair, np.ascontiguousarray(table)) for pair, table in sorted(pairs.items()))
    return tuple(terms)
