"""How many threads one predict call may use, for every numerical library that predicts, in one place.

The daemon predicts with `PREDICT_THREADS` thread per call: on a small box, threads per call
oversubscribe the cores under load (OpenMP workers spin, waiting for each other, while request
threads and the prediction log wait for the CPU), and micro-batching gives the parallelism that
pays. The release gates measure latency under the same limit, through this module, so what they
measure is what `vigil up` serves.

Three levers, because the libraries listen to different ones:

- `limit_process()`, before anything numerical is imported (`vigil up` calls it first): the
  OpenMP and BLAS environment variables, read by each runtime when it loads, so every thread of
  the process starts limited.
- `predict_threads()`, around calls in a process that did not start limited (the CLI running the
  gates): threadpoolctl's limit for OpenMP (per calling thread) and BLAS (process-wide).
- `pin_library_threads(model)`, on every model loaded to serve: XGBoost, LightGBM and CatBoost
  carry their own thread settings (a booster's `nthread`, the wrappers' `n_jobs`, CatBoost's
  `thread_count` at predict), which the environment does not override. Those libraries are looked
  up in `sys.modules`, never imported: a model of theirs cannot exist unless they are loaded.
"""

from __future__ import annotations

import functools
import os
import sys
from contextlib import contextmanager
from typing import Any, Iterator

PREDICT_THREADS = 1
ENVIRONMENT = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SETTING = (f"{PREDICT_THREADS} thread per predict call (OpenMP, BLAS, XGBoost nthread, LightGBM num_threads, "
           "CatBoost thread_count)")
_CHILD_TYPES = (list, tuple, dict)


def limit_process() -> None:
    """Limit OpenMP and BLAS in this process (and the processes it starts) to `PREDICT_THREADS`.

    Takes effect for each runtime loaded afterwards, in every thread: call it before NumPy,
    scikit-learn or a boosting library is imported."""
    for name in ENVIRONMENT:
        os.environ[name] = str(PREDICT_THREADS)


@contextmanager
def predict_threads() -> Iterator[None]:
    """Within: OpenMP in the calling thread and BLAS use `PREDICT_THREADS` threads, as in the daemon.

    Only runtimes already loaded are limited, so enter it after the model is loaded."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=PREDICT_THREADS):
        yield


def observed_threads() -> int:
    """The most threads any loaded OpenMP or BLAS runtime would use for a call from this thread now."""
    from threadpoolctl import threadpool_info

    return max((int(found["num_threads"]) for found in threadpool_info()), default=PREDICT_THREADS)


def pin_library_threads(model: Any) -> Any:
    """Set every XGBoost, LightGBM and CatBoost model inside `model` (a pipeline's steps, a column
    transformer's parts, Vigil's own adapters) to predict on `PREDICT_THREADS` threads; returns it."""
    _visit(model, set(), depth=0)
    return model


def _visit(node: Any, seen: set[int], depth: int) -> None:
    if depth > 8 or id(node) in seen:
        return
    seen.add(id(node))
    if _pin(node):
        return
    for child in _children(node):
        _visit(child, seen, depth + 1)


def _children(node: Any) -> list[Any]:
    """What a container, a scikit-learn estimator or a Vigil object holds; nothing for anything else."""
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, (list, tuple)):
        return list(node)
    module = type(node).__module__ or ""
    if module.split(".")[0] in ("sklearn", "appliance") and hasattr(node, "__dict__"):
        return [v for v in vars(node).values() if hasattr(v, "__dict__") or isinstance(v, _CHILD_TYPES)]
    return []


def _pin(node: Any) -> bool:
    """Pin `node` if it is a boosting library's model; says whether it was one."""
    xgboost, lightgbm, catboost = (sys.modules.get(n) for n in ("xgboost", "lightgbm", "catboost"))
    if xgboost is not None and isinstance(node, xgboost.XGBModel):
        node.set_params(n_jobs=PREDICT_THREADS)  # also sets the fitted booster's nthread
        return True
    if xgboost is not None and isinstance(node, xgboost.Booster):
        node.set_param({"nthread": PREDICT_THREADS})
        return True
    if lightgbm is not None and isinstance(node, lightgbm.LGBMModel):
        node.set_params(n_jobs=PREDICT_THREADS)  # its predict passes n_jobs on as num_threads
        return True
    if lightgbm is not None and isinstance(node, lightgbm.Booster):
        _default_keyword(node, ("predict",), "num_threads")
        return True
    if catboost is not None and isinstance(node, catboost.CatBoost):
        _default_keyword(node, ("predict", "predict_proba"), "thread_count")
        return True
    return False


def _default_keyword(node: Any, methods: tuple[str, ...], keyword: str) -> None:
    """Make `keyword=PREDICT_THREADS` the default of these methods on this one object (their own
    default is every core); a caller passing the keyword still wins."""
    for name in methods:
        method = getattr(type(node), name, None)
        if method is not None:
            setattr(node, name, functools.partial(method.__get__(node), **{keyword: PREDICT_THREADS}))
