"""LIBSVM inputs built with numpy instead of a Python loop over every value.

``libsvm-official``'s ``svm_predict`` converts each row of a dense array into LIBSVM's sparse
``svm_node`` array in Python (about 2.7 ms per row of 1536 features). Here all rows become one
numpy record array in LIBSVM's memory layout (the nonzero values of a row, then a node with
index -1), and LIBSVM's own C functions are called on each row: the same nodes, so the same
decision values and probabilities to the last bit.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: LIBSVM's ``struct svm_node {int index; double value;}`` (16 bytes with its padding).
SVM_NODE = np.dtype([("index", np.int32), ("value", np.float64)], align=True)


def node_rows(X: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """All rows of ``X`` as LIBSVM node arrays in one buffer, and where each row starts.

    Row ``i`` holds its nonzero values with 1-based feature indices, then the terminator
    (index -1), as ``svm_predict`` builds it.

    Examples
    --------
    >>> nodes, starts = node_rows(np.array([[0.0, 2.5], [1.0, 0.0]]))
    >>> nodes["index"].tolist(), nodes["value"].tolist(), starts.tolist()
    ([2, -1, 1, -1], [2.5, 0.0, 1.0, 0.0], [0, 2])
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"need a 2-D array, got shape {X.shape}")
    rows, cols = np.nonzero(X)
    counts = np.bincount(rows, minlength=X.shape[0])
    ends = np.cumsum(counts + 1)  # one past each row's terminator
    starts = ends - counts - 1
    nodes = np.zeros(int(ends[-1]) if ends.size else 0, dtype=SVM_NODE)
    # np.nonzero is row-major: the j-th nonzero overall, in row r, is preceded by r
    # terminators in the buffer
    pos = np.arange(rows.size) + rows
    nodes["index"][pos] = cols + 1
    nodes["value"][pos] = X[rows, cols]
    nodes["index"][ends - 1] = -1
    return nodes, starts.astype(np.intp)


def decision_values(model: Any, X: NDArray[np.float64]) -> NDArray[np.float64]:
    """LIBSVM's first decision value (``svm_predict_values``) of every row of ``X``.

    For a two-class model, the value ``svm_predict`` reports; ``model`` is a loaded
    ``libsvm.svm.svm_model``.
    """
    from libsvm.svm import libsvm, svm_node

    nodes, starts = node_rows(X)
    n_class = int(model.get_nr_class())
    dec = np.zeros(max(1, n_class * (n_class - 1) // 2))
    out = np.empty(len(starts))
    base = nodes.ctypes.data
    ptr = ctypes.POINTER(svm_node)
    dec_ptr = dec.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    for i, s in enumerate(starts.tolist()):
        libsvm.svm_predict_values(model, ctypes.cast(base + s * SVM_NODE.itemsize, ptr), dec_ptr)
        out[i] = dec[0]
    return out
