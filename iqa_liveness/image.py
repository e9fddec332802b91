"""Image input: reading, validation and grey conversion.

Conventions (used by every extractor of the package):

* A path is read with OpenCV (any format it decodes, 8 or 16 bit). OpenCV decodes colour as
  BGR; :func:`load_image` turns it into **RGB**, so that a path and the array a user gets from
  ``skimage.io.imread`` or ``PIL`` give the same features.
* A numpy array is taken as **RGB** for ``(H, W, 3)``, grey for ``(H, W)``; ``(H, W, 4)`` is
  RGBA and its alpha channel is dropped. Pass ``order="BGR"`` for arrays that come from
  ``cv2.imread``.
* Value ranges by dtype: ``uint8`` is 0..255, ``uint16`` is 0..65535, floating point is
  0..1 (the scikit-image convention). Everything is brought to float64 in 0..255 for the
  quality measures (``uint16 / 257``, ``float * 255``).
* Grey is the ITU-R BT.601 luma: ``Y = 0.299 R + 0.587 G + 0.114 B``.
* Images smaller than :data:`MIN_SIDE` pixels on a side are rejected with
  :class:`~iqa_liveness.errors.ImageTooSmallError`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Union

import cv2
import numpy as np
from numpy.typing import NDArray

from .errors import ImageReadError, ImageTooSmallError, InvalidImageError

__all__ = [
    "MIN_SIDE",
    "BT601_WEIGHTS",
    "ImageInput",
    "read_image",
    "load_image",
    "to_float255",
    "to_grey",
    "load_grey",
    "as_image_list",
    "to_uint8_rgb",
]

#: Smallest accepted image side, in pixels.
MIN_SIDE = 8
#: ITU-R BT.601 luma weights for R, G, B.
BT601_WEIGHTS = (0.299, 0.587, 0.114)

ImageInput = Union[str, "os.PathLike[str]", NDArray[np.generic]]
ChannelOrder = Literal["RGB", "BGR"]


def read_image(path: str | os.PathLike[str]) -> NDArray[np.generic]:
    """Read an image file with OpenCV and return it as grey ``(H, W)`` or RGB ``(H, W, 3)``.

    8- and 16-bit files keep their dtype; an alpha channel is dropped.

    Raises
    ------
    ImageReadError
        If the file does not exist or OpenCV cannot decode it.
    """
    p = Path(path)
    if p.is_dir():
        raise ImageReadError(f"{p} is a directory, not an image file")
    if not p.is_file():
        raise ImageReadError(f"image file not found: {p}")
    data = np.fromfile(str(p), dtype=np.uint8)  # works for non-ASCII paths too
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ImageReadError(f"cannot decode image file: {p}")
    if image.ndim == 3:
        if image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
        elif image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        elif image.shape[2] == 1:
            image = image[:, :, 0]
    return np.ascontiguousarray(image)


def load_image(
    image: ImageInput, *, order: ChannelOrder = "RGB", min_side: int = MIN_SIDE
) -> NDArray[np.generic]:
    """Validate an image given as a path or an array; return grey ``(H, W)`` or RGB ``(H, W, 3)``.

    Parameters
    ----------
    image : str, path-like or ndarray
        A file OpenCV can read, or an array ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` of dtype
        uint8, uint16 or floating point (0..1).
    order : {"RGB", "BGR"}
        Channel order of a colour *array* (paths are always handled correctly).
    min_side : int
        Smallest accepted height and width.

    Returns
    -------
    ndarray
        The image in its own dtype, colour in RGB order.

    Raises
    ------
    ImageReadError, InvalidImageError, ImageTooSmallError
        With a message that says what is wrong.

    Examples
    --------
    >>> import numpy as np
    >>> load_image(np.zeros((16, 20, 3), np.uint8)).shape
    (16, 20, 3)
    """
    if isinstance(image, (str, os.PathLike)):
        arr = read_image(image)
    elif isinstance(image, np.ndarray):
        arr = image
        if order not in ("RGB", "BGR"):
            raise InvalidImageError(f"order must be 'RGB' or 'BGR', got {order!r}")
        if arr.ndim == 3 and arr.shape[2] in (3, 4) and order == "BGR":
            arr = arr[:, :, 2::-1] if arr.shape[2] == 3 else arr[:, :, [2, 1, 0]]
    else:
        raise InvalidImageError(
            f"an image must be a path or a numpy array, got {type(image).__name__}"
        )
    if arr.size == 0:
        raise InvalidImageError(f"empty image, shape {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        raise InvalidImageError(
            f"an image must have shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}"
        )
    if arr.dtype == np.bool_ or not (
        arr.dtype in (np.uint8, np.uint16) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise InvalidImageError(f"image dtype must be uint8, uint16 or float, got {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise InvalidImageError("image holds NaN or infinite values")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise InvalidImageError(
                f"float images must lie in [0, 1] (scikit-image convention), got [{lo:g}, {hi:g}];"
                " pass uint8 for 0..255 data or divide by 255"
            )
    h, w = arr.shape[:2]
    if min(h, w) < min_side:
        raise ImageTooSmallError(f"image is {h}x{w}; the minimum side is {min_side} pixels")
    return arr


def to_float255(image: NDArray[np.generic]) -> NDArray[np.float64]:
    """Return a validated array as float64 in 0..255 (uint16 / 257, float * 255, clipped)."""
    if image.dtype == np.uint8:
        return image.astype(np.float64)
    if image.dtype == np.uint16:
        return image.astype(np.float64) / 257.0
    return np.clip(image.astype(np.float64) * 255.0, 0.0, 255.0)


def to_grey(image: NDArray[np.generic]) -> NDArray[np.float64]:
    """BT.601 luma of a validated grey or RGB array, as float64 in 0..255.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.zeros((8, 8, 3), np.uint8); rgb[..., 0] = 255
    >>> float(to_grey(rgb)[0, 0])
    76.245
    """
    f = to_float255(image)
    if f.ndim == 2:
        return f
    r, g, b = BT601_WEIGHTS
    return r * f[:, :, 0] + g * f[:, :, 1] + b * f[:, :, 2]


def load_grey(
    image: ImageInput, *, order: ChannelOrder = "RGB", min_side: int = MIN_SIDE
) -> NDArray[np.float64]:
    """:func:`load_image` followed by :func:`to_grey`: float64 grey in 0..255."""
    return to_grey(load_image(image, order=order, min_side=min_side))


def as_image_list(X: object) -> list[object]:
    """The images of a transformer's ``X``: a sequence of arrays or paths, or a stacked array.

    A single path is refused (wrap it in a list); an array must be a stack ``(n, H, W)`` or
    ``(n, H, W, C)``; an object array is flattened.

    Examples
    --------
    >>> import numpy as np
    >>> len(as_image_list(np.zeros((3, 16, 16), np.uint8)))
    3
    """
    if isinstance(X, (str, bytes, os.PathLike)):
        raise InvalidImageError(
            "X must be a sequence of images (arrays or paths), not a single path; wrap it in a list"
        )
    if isinstance(X, np.ndarray):
        if X.dtype == object:
            return list(X.ravel())
        if X.ndim in (3, 4):  # a stack of grey (n, H, W) or colour (n, H, W, C) images
            return list(X)
        raise InvalidImageError(
            "X must be a sequence of images; a numpy array X must be a stack of images of shape "
            f"(n, H, W) or (n, H, W, C), got shape {X.shape}"
        )
    try:
        return list(X)  # type: ignore[call-overload]
    except TypeError:
        raise InvalidImageError(
            f"X must be a sequence of images (arrays or paths), got {type(X).__name__}"
        ) from None


def to_uint8_rgb(image: ImageInput) -> NDArray[np.uint8]:
    """A validated image as contiguous uint8 RGB: grey replicated, uint16 and float scaled
    (rounded half up), for detectors and networks that take 8-bit colour.

    Examples
    --------
    >>> import numpy as np
    >>> to_uint8_rgb(np.full((8, 8), 0.5)).shape, int(to_uint8_rgb(np.full((8, 8), 0.5))[0, 0, 0])
    ((8, 8, 3), 128)
    """
    arr: NDArray[np.generic] = load_image(image)
    if arr.dtype == np.uint16:
        arr = (arr.astype(np.float64) / 257.0 + 0.5).astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float64), 0, 1) * 255.0 + 0.5).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    return np.ascontiguousarray(arr, dtype=np.uint8)
