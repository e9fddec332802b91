"""One BLAS thread around the package's small matrix products.

The quality measures and the colour-texture descriptors multiply small matrices (a few
hundred rows) once per image. OpenBLAS starts its threads for products above about 2^18
multiply-adds; on a machine whose cores are busy (a batch job with ``n_jobs`` workers, other
processes) those threads wait for a core, which made such products up to ten times slower
(measured on the 2-core development machine). One thread per call is also what ``n_jobs``
parallelism expects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

_CONTROLLER: Any = None
_R = TypeVar("_R")


def single_blas_thread() -> Any:
    """Context manager limiting BLAS (numpy's OpenBLAS and any other loaded) to one thread.

    The thread-pool controller is built on first use, after the libraries that matter are
    loaded; each use costs about 16 microseconds.

    Examples
    --------
    >>> import numpy as np
    >>> with single_blas_thread():
    ...     float(np.ones((2, 2)) @ np.ones(2) @ np.ones(2))
    4.0
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def in_single_blas_thread(fn: Callable[..., _R]) -> Callable[..., _R]:
    """Decorator: ``fn`` runs inside :func:`single_blas_thread` (picklable by its name, for
    joblib workers)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> _R:
        with single_blas_thread():
            return fn(*args, **kwargs)

    return wrapper
