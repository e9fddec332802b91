"""Simulated presentation attacks, a camera model, and the shipped stand-in data set.

No public presentation-attack database may be redistributed, so iqa-liveness ships an honest
stand-in: bona fide faces from public-domain / CC0 images that come with scikit-image, and
**simulated** attacks made from them by the effects of this module. The same effects are a user
feature: augmentation of bona fide data, stress tests, unit tests.

Physical models (each a small pure function on float RGB images in ``[0, 1]``):

Print attack (a photo printed on paper, held in front of the camera)
    :func:`gamut_compress` (paper and inks reproduce fewer colours and a smaller dynamic range),
    :func:`halftone` (clustered-dot CMY screens at the classical angles), :func:`paper_texture`
    (multiplicative fibre noise), :func:`perspective` (the sheet is not parallel to the sensor)
    and :func:`recapture_blur` (the camera re-images a flat object, defocus).
Screen replay (a photo or video shown on a phone, tablet or monitor)
    :func:`gamma` (display/camera transfer mismatch), :func:`pixel_grid_moire` (the screen's
    pixel grid, finer than the camera's, aliases into low-frequency fringes),
    :func:`refresh_banding` (rolling shutter against the display refresh), :func:`glare`
    (specular reflection on the glass), then perspective and blur.
Camera (both bona fide and attack captures go through it, so an attack differs from a bona fide
sample only by the presentation medium)
    framing (crop, shift, scale around the face), light (gain, colour temperature, gradient),
    sensor noise and JPEG compression: :func:`capture`.

Randomness: every strength is drawn from a caller-supplied ``numpy.random.Generator``
(:meth:`PrintParams.draw`, :meth:`ReplayParams.draw`, :meth:`CaptureParams.draw`) and the
effects themselves are deterministic functions of the image and the parameters (random fields
such as the paper fibres come from a seed stored in the parameters). The same generator state
therefore gives the same bytes out.

The simulation is a stand-in, not a substitute: results on simulated attacks say that the
pipeline runs and that the features react to the physical cues above, not how a method does
against real attacks.

Examples
--------
>>> import numpy as np
>>> from skimage import data
>>> face = data.astronaut()[40:200, 150:310]
>>> attack = simulate_print(face, np.random.default_rng(0))
>>> attack.shape, attack.dtype
((160, 160, 3), dtype('uint8'))
>>> np.array_equal(attack, simulate_print(face, np.random.default_rng(0)))
True
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from .errors import ConfigurationError
from .image import ImageInput, load_image

__all__ = [
    "gamut_compress",
    "halftone",
    "paper_texture",
    "perspective",
    "recapture_blur",
    "gamma",
    "pixel_grid_moire",
    "refresh_banding",
    "glare",
    "PrintParams",
    "ReplayParams",
    "CaptureParams",
    "apply_print",
    "apply_replay",
    "simulate_print",
    "simulate_replay",
    "capture",
    "STANDIN_SOURCES",
    "build_standin_dataset",
]

FloatImage = NDArray[np.float64]


# --------------------------------------------------------------------------- helpers
def _as_float_rgb(image: ImageInput) -> FloatImage:
    """Any accepted image (path or array) as float64 RGB ``(H, W, 3)`` in ``[0, 1]``."""
    arr = load_image(image)
    if arr.dtype == np.uint8:
        f = arr.astype(np.float64) / 255.0
    elif arr.dtype == np.uint16:
        f = arr.astype(np.float64) / 65535.0
    else:
        f = np.clip(arr.astype(np.float64), 0.0, 1.0)
    if f.ndim == 2:
        f = np.repeat(f[:, :, None], 3, axis=2)
    return f


def _check_float(img: FloatImage) -> FloatImage:
    img = np.asarray(img, dtype=np.float64)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ConfigurationError(f"effects take float RGB images (H, W, 3), got {img.shape}")
    return img


def _to_output(img: FloatImage, like_uint8: bool) -> NDArray[Any]:
    img = np.clip(img, 0.0, 1.0)
    if like_uint8:
        return np.asarray(np.round(img * 255.0), dtype=np.uint8)
    return img


def _luma(img: FloatImage) -> FloatImage:
    return 0.299 * img[:, :, 0] + 0.587 * img[:, :, 1] + 0.114 * img[:, :, 2]


def _grid(h: int, w: int) -> tuple[FloatImage, FloatImage]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return x, y


# --------------------------------------------------------------------------- print effects
def gamut_compress(
    img: FloatImage, saturation: float = 0.75, black: float = 0.06, white: float = 0.92
) -> FloatImage:
    """Compress colours and dynamic range as paper and inks do.

    ``out = black + (white - black) * (Y + saturation * (img - Y))`` with ``Y`` the BT.601 luma:
    chroma is scaled by ``saturation`` (< 1: duller colours), and the tonal range ``[0, 1]``
    maps to ``[black, white]`` (paper reflects some light where ink is densest and less than a
    perfect white where there is none).

    Examples
    --------
    >>> import numpy as np
    >>> out = gamut_compress(np.array([[[1.0, 0.0, 0.0]]]), 0.5, 0.1, 0.9)
    >>> np.round(out, 4).tolist()
    [[[0.6196, 0.2196, 0.2196]]]
    """
    img = _check_float(img)
    if not (0.0 <= saturation <= 1.0 and 0.0 <= black < white <= 1.0):
        raise ConfigurationError("need 0 <= saturation <= 1 and 0 <= black < white <= 1")
    y = _luma(img)[:, :, None]
    return black + (white - black) * np.clip(y + saturation * (img - y), 0.0, 1.0)


def halftone(
    img: FloatImage, period: float = 4.0, angles: tuple[float, float, float] = (15.0, 75.0, 0.0)
) -> FloatImage:  # noqa: E501
    """Clustered-dot CMY halftone: each ink is either printed or not at every pixel.

    Inks are ``c, m, y = 1 - R, G, B``. Each ink has a screen rotated by its angle (degrees;
    the classical 15, 75 and 0 degrees for cyan, magenta and yellow) with the spot function
    ``T(u, v) = 1/2 + 1/4 (cos(2 pi u / period) + cos(2 pi v / period))``; ink is printed where
    its value exceeds ``T``. The result has exactly two levels per channel; the printed dots
    grow with the ink value (the coverage follows the tone monotonically).

    Parameters
    ----------
    period : float
        Screen period in pixels (>= 2).

    Examples
    --------
    >>> import numpy as np
    >>> out = halftone(np.full((32, 32, 3), 0.5), period=4)
    >>> sorted(np.unique(out).tolist())
    [0.0, 1.0]
    """
    img = _check_float(img)
    if period < 2:
        raise ConfigurationError(f"halftone period must be >= 2 pixels, got {period}")
    h, w = img.shape[:2]
    x, y = _grid(h, w)
    out = np.empty_like(img)
    for c in range(3):
        t = math.radians(angles[c])
        u = x * math.cos(t) + y * math.sin(t)
        v = -x * math.sin(t) + y * math.cos(t)
        spot = 0.5 + 0.25 * (np.cos(2 * np.pi * u / period) + np.cos(2 * np.pi * v / period))
        ink = 1.0 - img[:, :, c]
        out[:, :, c] = np.where(ink > spot, 0.0, 1.0)
    return out


def paper_texture(
    img: FloatImage, strength: float = 0.05, scale: float = 1.5, seed: int = 0
) -> FloatImage:
    """Multiply by a paper-fibre field ``1 + strength * n``.

    ``n`` is white Gaussian noise (from ``numpy.random.default_rng(seed)``) smoothed by a
    Gaussian of standard deviation ``scale`` pixels and renormalised to unit standard
    deviation, the same field on every channel (the paper, not the ink, carries it).

    Examples
    --------
    >>> import numpy as np
    >>> flat = np.full((64, 64, 3), 0.5)
    >>> bool(paper_texture(flat, 0.05).std() > 0.02)
    True
    """
    img = _check_float(img)
    h, w = img.shape[:2]
    n = np.random.default_rng(seed).standard_normal((h, w))
    if scale > 0:
        n = np.asarray(cv2.GaussianBlur(n, (0, 0), scale, borderType=cv2.BORDER_REFLECT))
    n = (n - n.mean()) / max(float(n.std()), 1e-12)
    return np.clip(img * (1.0 + strength * n[:, :, None]), 0.0, 1.0)


def perspective(img: FloatImage, offsets: NDArray[np.float64] | None = None) -> FloatImage:
    """Warp by the homography that moves the four corners by ``offsets``.

    ``offsets`` is ``(4, 2)``: the (x, y) displacement of the top-left, top-right,
    bottom-right and bottom-left corners as fractions of the width and height. Bilinear
    interpolation, borders reflected; the output has the input's shape.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.random.default_rng(0).random((20, 30, 3))
    >>> bool(np.allclose(perspective(img, np.zeros((4, 2))), img))
    True
    """
    img = _check_float(img)
    if offsets is None:
        return img.copy()
    off = np.asarray(offsets, dtype=np.float64)
    if off.shape != (4, 2):
        raise ConfigurationError(f"offsets must have shape (4, 2), got {off.shape}")
    h, w = img.shape[:2]
    src = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float64)
    dst = src + off * np.array([w - 1, h - 1])
    m = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    warped = cv2.warpPerspective(
        img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    return np.asarray(warped, dtype=np.float64)


def recapture_blur(img: FloatImage, sigma: float = 1.0) -> FloatImage:
    """Gaussian blur of standard deviation ``sigma`` pixels (defocus of a recaptured medium).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((9, 9, 3)); img[4, 4] = 1.0
    >>> float(np.round(recapture_blur(img, 1.0).sum(), 6))
    3.0
    """
    img = _check_float(img)
    if sigma <= 0:
        return img.copy()
    blurred = cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return np.asarray(blurred, dtype=np.float64)


# --------------------------------------------------------------------------- replay effects
def gamma(img: FloatImage, g: float = 1.2) -> FloatImage:
    """Transfer-curve mismatch between display and camera: ``out = img ** g``.

    Examples
    --------
    >>> import numpy as np
    >>> float(gamma(np.full((1, 1, 3), 0.25), 0.5)[0, 0, 0])
    0.5
    """
    img = _check_float(img)
    if g <= 0:
        raise ConfigurationError(f"gamma must be positive, got {g}")
    return np.power(np.clip(img, 0.0, 1.0), g)


def aliased_frequency(pitch: float) -> float:
    """Frequency (cycles per pixel, in ``[0, 0.5]``) at which a grating of period ``pitch``
    pixels appears once sampled on the pixel grid: ``|1/pitch - round(1/pitch)|``.

    >>> round(aliased_frequency(1.25), 6)
    0.2
    """
    f = 1.0 / pitch
    return abs(f - round(f))


def pixel_grid_moire(
    img: FloatImage, pitch: float = 1.2, angle: float = 5.0, strength: float = 0.15
) -> FloatImage:
    """Moire of a screen's pixel grid re-imaged by a camera.

    The display's pixel grid is a grating of period ``pitch`` camera pixels (screens seen from a
    normal distance have pixels smaller than the camera's, ``pitch < 2``), rotated by ``angle``
    degrees. Sampled on the sensor grid it aliases into fringes at
    :func:`aliased_frequency` (``pitch = 1.2`` gives fringes of period 6 pixels). The three
    sub-pixel stripes (R, G, B) are offset by a third of the pitch, which colours the fringes.
    ``out = img * (1 - strength * (1 + cos(2 pi (u + k pitch / 3) / pitch)) / 2)``.

    Examples
    --------
    >>> import numpy as np
    >>> out = pixel_grid_moire(np.full((8, 64, 3), 0.5), pitch=1.25, angle=0, strength=0.2)
    >>> spectrum = np.abs(np.fft.rfft(out[0, :, 1] - out[0, :, 1].mean()))
    >>> int(np.argmax(spectrum)) / 64  # fringes at 0.2 cycles / pixel
    0.203125
    """
    img = _check_float(img)
    if pitch <= 0:
        raise ConfigurationError(f"pitch must be positive, got {pitch}")
    h, w = img.shape[:2]
    x, y = _grid(h, w)
    t = math.radians(angle)
    u = x * math.cos(t) + y * math.sin(t)
    out = np.empty_like(img)
    for c in range(3):
        grating = 0.5 * (1.0 + np.cos(2 * np.pi * (u + c * pitch / 3.0) / pitch))
        out[:, :, c] = img[:, :, c] * (1.0 - strength * grating)
    return out


def refresh_banding(
    img: FloatImage, period: float = 40.0, phase: float = 0.0, strength: float = 0.08
) -> FloatImage:
    """Horizontal bands of a rolling shutter beating with the display refresh.

    ``out = img * (1 - strength * (1 + sin(2 pi y / period + phase)) / 2)``: rows darken and
    brighten with a period of ``period`` rows; columns are untouched.

    Examples
    --------
    >>> import numpy as np
    >>> out = refresh_banding(np.ones((40, 4, 3)), period=40, strength=0.1)
    >>> float(out[30, 0, 0]), float(out[10, 0, 0])
    (1.0, 0.9)
    """
    img = _check_float(img)
    h = img.shape[0]
    y = np.arange(h, dtype=np.float64)
    band = 1.0 - strength * 0.5 * (1.0 + np.sin(2 * np.pi * y / period + phase))
    return img * band[:, None, None]


def glare(
    img: FloatImage,
    center: tuple[float, float] = (0.7, 0.3),
    radius: float = 0.2,
    strength: float = 0.4,
) -> FloatImage:
    """Specular reflection on a screen's glass: a Gaussian veil pulling pixels towards white.

    ``a = strength * exp(-d^2 / (2 r^2))`` with ``d`` the distance to ``center`` and ``r`` the
    radius (both as fractions of the image width and height: ``center = (x, y)``);
    ``out = (1 - a) img + a``.

    Examples
    --------
    >>> import numpy as np
    >>> out = glare(np.zeros((50, 50, 3)), (0.5, 0.5), 0.1, 0.5)
    >>> round(float(out[25, 25, 0]), 3), round(float(out[0, 0, 0]), 3)
    (0.5, 0.0)
    """
    img = _check_float(img)
    h, w = img.shape[:2]
    x, y = _grid(h, w)
    dx = (x / max(w - 1, 1) - center[0]) / max(radius, 1e-6)
    dy = (y / max(h - 1, 1) - center[1]) / max(radius, 1e-6)
    a = strength * np.exp(-0.5 * (dx * dx + dy * dy))
    return (1.0 - a[:, :, None]) * img + a[:, :, None]


# --------------------------------------------------------------------------- parameters
def _corner_offsets(rng: np.random.Generator, amount: float) -> NDArray[np.float64]:
    return rng.uniform(-amount, amount, size=(4, 2))


@dataclass(frozen=True)
class PrintParams:
    """Strengths of one simulated print attack (see :meth:`draw` for the ranges)."""

    saturation: float
    black: float
    white: float
    upsample: int
    period: float
    texture: float
    texture_scale: float
    texture_seed: int
    corners: tuple[tuple[float, float], ...]
    blur: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> PrintParams:
        """Draw strengths: saturation U(0.55, 0.9), black U(0.03, 0.12), white U(0.85, 0.97),
        print resolution 2-3 x the capture's with a screen period U(2.5, 4.5) print pixels,
        paper texture U(0.02, 0.08) at scale U(0.8, 2), corners moved by up to 4 %, recapture
        blur U(0.5, 1.4) pixels."""
        return cls(
            saturation=float(rng.uniform(0.55, 0.9)),
            black=float(rng.uniform(0.03, 0.12)),
            white=float(rng.uniform(0.85, 0.97)),
            upsample=int(rng.integers(2, 4)),
            period=float(rng.uniform(2.5, 4.5)),
            texture=float(rng.uniform(0.02, 0.08)),
            texture_scale=float(rng.uniform(0.8, 2.0)),
            texture_seed=int(rng.integers(0, 2**31 - 1)),
            corners=tuple(map(tuple, _corner_offsets(rng, 0.04).tolist())),
            blur=float(rng.uniform(0.5, 1.4)),
        )


@dataclass(frozen=True)
class ReplayParams:
    """Strengths of one simulated screen replay (see :meth:`draw` for the ranges)."""

    gamma: float
    pitch: float
    moire_angle: float
    moire: float
    band_period: float
    band_phase: float
    banding: float
    glare_center: tuple[float, float]
    glare_radius: float
    glare: float
    corners: tuple[tuple[float, float], ...]
    blur: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> ReplayParams:
        """Draw strengths: gamma U(0.75, 1.35), pixel pitch U(1.1, 1.9) camera pixels at
        U(-10, 10) degrees with moire depth U(0.05, 0.2), banding period U(20, 80) rows and depth
        U(0.02, 0.1), glare of strength U(0, 0.45) and radius U(0.1, 0.3), corners moved by up
        to 3 %, blur U(0.3, 1.0) pixels."""
        return cls(
            gamma=float(rng.uniform(0.75, 1.35)),
            pitch=float(rng.uniform(1.1, 1.9)),
            moire_angle=float(rng.uniform(-10.0, 10.0)),
            moire=float(rng.uniform(0.05, 0.2)),
            band_period=float(rng.uniform(20.0, 80.0)),
            band_phase=float(rng.uniform(0.0, 2 * np.pi)),
            banding=float(rng.uniform(0.02, 0.1)),
            glare_center=(float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9))),
            glare_radius=float(rng.uniform(0.1, 0.3)),
            glare=float(rng.uniform(0.0, 0.45)),
            corners=tuple(map(tuple, _corner_offsets(rng, 0.03).tolist())),
            blur=float(rng.uniform(0.3, 1.0)),
        )


def apply_print(img: FloatImage, p: PrintParams) -> FloatImage:
    """The print pipeline with fixed parameters: gamut compression, halftone at print
    resolution (the image upsampled ``p.upsample`` times, screened, and area-averaged back as the
    camera integrates the dots), paper texture, perspective, recapture blur."""
    img = _check_float(img)
    h, w = img.shape[:2]
    out = gamut_compress(img, p.saturation, p.black, p.white)
    big = cv2.resize(out, (w * p.upsample, h * p.upsample), interpolation=cv2.INTER_CUBIC)
    big = halftone(np.clip(big, 0.0, 1.0), p.period)
    # the dots are printed on the paper: white is the paper's, ink never blacker than `black`
    big = p.black + (p.white - p.black) * big
    out = np.asarray(cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA), dtype=np.float64)
    out = paper_texture(out, p.texture, p.texture_scale, p.texture_seed)
    out = perspective(out, np.array(p.corners))
    return np.clip(recapture_blur(out, p.blur), 0.0, 1.0)


def apply_replay(img: FloatImage, p: ReplayParams) -> FloatImage:
    """The replay pipeline with fixed parameters: gamma, pixel-grid moire, refresh banding,
    glare, perspective, blur."""
    out = gamma(_check_float(img), p.gamma)
    out = pixel_grid_moire(out, p.pitch, p.moire_angle, p.moire)
    out = refresh_banding(out, p.band_period, p.band_phase, p.banding)
    out = glare(out, p.glare_center, p.glare_radius, p.glare)
    out = perspective(out, np.array(p.corners))
    return np.clip(recapture_blur(out, p.blur), 0.0, 1.0)


def simulate_print(image: ImageInput, rng: np.random.Generator) -> NDArray[Any]:
    """A simulated print attack of ``image`` with strengths drawn from ``rng``.

    Parameters
    ----------
    image : path or ndarray
        Any image :func:`~iqa_liveness.image.load_image` accepts (grey becomes RGB).
    rng : numpy.random.Generator
        Source of the strengths (:meth:`PrintParams.draw`); the same state gives the same bytes.

    Returns
    -------
    ndarray
        RGB ``(H, W, 3)``: uint8 for uint8 input (and 8-bit files), float64 in ``[0, 1]``
        otherwise.
    """
    like_uint8 = _is_uint8(image)
    return _to_output(apply_print(_as_float_rgb(image), PrintParams.draw(rng)), like_uint8)


def simulate_replay(image: ImageInput, rng: np.random.Generator) -> NDArray[Any]:
    """A simulated screen replay of ``image`` with strengths drawn from ``rng``
    (:meth:`ReplayParams.draw`); output as :func:`simulate_print`.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.full((32, 48, 3), 128, np.uint8)
    >>> simulate_replay(img, np.random.default_rng(1)).shape
    (32, 48, 3)
    """
    like_uint8 = _is_uint8(image)
    return _to_output(apply_replay(_as_float_rgb(image), ReplayParams.draw(rng)), like_uint8)


def _is_uint8(image: ImageInput) -> bool:
    if isinstance(image, np.ndarray):
        return image.dtype == np.uint8
    return load_image(image).dtype == np.uint8


# --------------------------------------------------------------------------- camera model
@dataclass(frozen=True)
class CaptureParams:
    """One capture by a webcam-like camera (see :meth:`draw`)."""

    scale: float  # crop side / face side
    shift: tuple[float, float]  # crop-centre shift, in face sides
    flip: bool
    gain: float
    colour: tuple[float, float, float]
    gradient: tuple[float, float]  # illumination slope along x and y (fraction per image side)
    noise: float  # sensor noise standard deviation at mid grey, 0..1 units
    noise_seed: int
    jpeg: int

    @classmethod
    def draw(
        cls,
        rng: np.random.Generator,
        gain: tuple[float, float] = (0.7, 1.2),
        colour: tuple[float, float, float] = (1.0, 1.0, 1.0),
    ) -> CaptureParams:
        """Draw a capture: crop side U(2.2, 3.2) face sides with the centre shifted by up to
        0.25 face sides, horizontal flip with probability 1/2, gain U(``gain``), white balance
        ``colour`` times U(0.93, 1.07) per channel, a light gradient of up to 25 % across the
        image, sensor noise U(0.005, 0.02) and JPEG quality 75-95."""
        return cls(
            scale=float(rng.uniform(2.2, 3.2)),
            shift=(float(rng.uniform(-0.25, 0.25)), float(rng.uniform(-0.25, 0.25))),
            flip=bool(rng.random() < 0.5),
            gain=float(rng.uniform(*gain)),
            colour=tuple(float(c * rng.uniform(0.93, 1.07)) for c in colour),  # type: ignore[arg-type]
            gradient=(float(rng.uniform(-0.25, 0.25)), float(rng.uniform(-0.25, 0.25))),
            noise=float(rng.uniform(0.005, 0.02)),
            noise_seed=int(rng.integers(0, 2**31 - 1)),
            jpeg=int(rng.integers(75, 96)),
        )


def capture(
    scene: FloatImage,
    face: tuple[int, int, int, int],
    p: CaptureParams,
    size: tuple[int, int] = (320, 240),
    medium: Any = None,
) -> NDArray[np.uint8]:
    """Capture ``scene`` (float RGB) with the camera model; return uint8 RGB of ``size`` (w, h).

    The crop (aspect of ``size``) is centred on the face box ``(x, y, w, h)`` in scene
    coordinates, shifted by ``p.shift`` face sides, ``p.scale`` face sides high; it is resized
    with area averaging, and moved inside the scene where it fits. ``medium`` (a function of
    a float image, e.g. a print or replay pipeline with fixed parameters) is applied to the
    cropped view, as the presentation medium stands between the scene and the camera. Then
    light (gain, white balance, gradient), sensor noise (standard deviation
    ``p.noise * sqrt(2 v)``, shot-noise-like) and JPEG compression (quality ``p.jpeg``, decoded
    back).
    """
    scene = _check_float(scene)
    out_w, out_h = size
    fx, fy, fw, fh = face
    side = max(fw, fh)
    crop_h = p.scale * side
    crop_w = crop_h * out_w / out_h
    cx = fx + fw / 2 + p.shift[0] * side
    cy = fy + fh / 2 + p.shift[1] * side
    # keep the crop inside the scene where it fits (no mirrored borders in the view)
    sh, sw = scene.shape[:2]
    if crop_w <= sw:
        cx = min(max(cx, crop_w / 2), sw - crop_w / 2)
    if crop_h <= sh:
        cy = min(max(cy, crop_h / 2), sh - crop_h / 2)
    # affine map from output pixels to scene coordinates (reflect at the scene's borders)
    sx, sy = crop_w / out_w, crop_h / out_h
    m = np.array([[sx, 0, cx - crop_w / 2], [0, sy, cy - crop_h / 2]], dtype=np.float64)
    if sx > 1.0:  # area-average before sampling, as the sensor integrates light
        k = (0, 0)
        pre = cv2.GaussianBlur(scene, k, 0.5 * sx, borderType=cv2.BORDER_REFLECT)
    else:
        pre = scene
    view = cv2.warpAffine(
        pre,
        m,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )
    if medium is not None:
        view = medium(np.clip(view, 0.0, 1.0))
    if p.flip:
        view = view[:, ::-1]
    x, y = _grid(out_h, out_w)
    light = p.gain * (1.0 + p.gradient[0] * (x / out_w - 0.5) + p.gradient[1] * (y / out_h - 0.5))
    view = view * light[:, :, None] * np.array(p.colour)[None, None, :]
    noise = np.random.default_rng(p.noise_seed).standard_normal(view.shape)
    view = view + p.noise * np.sqrt(2.0 * np.clip(view, 0.0, 1.0)) * noise
    u8 = np.asarray(np.round(np.clip(view, 0.0, 1.0) * 255.0), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", u8[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, p.jpeg])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        return u8
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if decoded is None:  # pragma: no cover
        return u8
    return np.ascontiguousarray(decoded[:, :, ::-1])


# --------------------------------------------------------------------------- stand-in data set
@dataclass(frozen=True)
class StandinSource:
    """A bona fide face source that ships inside an installed package."""

    name: str
    loader: str  # attribute of skimage.data
    face: tuple[int, int, int, int]  # x, y, w, h of the face in the image
    licence: str
    origin: str


#: Face images shipped with scikit-image used by the stand-in set (licences from the
#: ``skimage.data`` docstrings). The face boxes were found with OpenCV's frontal-face Haar
#: cascade (astronaut) or drawn by hand (camera: the cameraman's face is in three-quarter view).
STANDIN_SOURCES: tuple[StandinSource, ...] = (
    StandinSource(
        "astronaut",
        "astronaut",
        (177, 66, 95, 95),
        "public domain (NASA; 'No known copyright restrictions, released into the public "
        "domain', skimage.data.astronaut)",
        "scikit-image: skimage/data/astronaut.png, NASA Great Images, https://flic.kr/p/r9qvLn",
    ),
    StandinSource(
        "camera",
        "camera",
        (218, 70, 80, 80),
        "CC0 by the photographer Lav Varshney (skimage.data.camera)",
        "scikit-image: skimage/data/camera.png",
    ),
)

# pseudo-subject -> (source index, white balance of its "session", gain range)
_SESSIONS: tuple[tuple[float, float, float], ...] = (
    (1.0, 1.0, 1.0),  # neutral daylight
    (1.08, 1.0, 0.88),  # warm indoor light
    (0.92, 1.0, 1.1),  # cool window light
)
_GAINS: tuple[tuple[float, float], ...] = ((0.85, 1.2), (0.7, 1.0), (0.8, 1.1))


def _load_source(src: StandinSource) -> FloatImage:
    from skimage import data

    return _as_float_rgb(getattr(data, src.loader)())


def _sample_rng(seed: int, subject: int, kind: int, index: int) -> np.random.Generator:
    # one independent stream per sample: the set does not depend on generation order
    return np.random.default_rng(np.random.SeedSequence([seed, subject, kind, index]))


def build_standin_dataset(
    root: str | os.PathLike[str],
    *,
    per_subject: int = 8,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    sources: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Write the shipped stand-in data set as a generic folder tree under ``root``.

    Layout (read by the generic folder manager, ``get_dataset("folder", root)``)::

        root/live/<subject>/<session>/<subject>_<session>_<i>.png        bona fide
        root/spoof/print/<subject>/<session>/..._print_<i>.png          simulated prints
        root/spoof/replay/<subject>/<session>/..._replay_<i>.png        simulated replays
        root/subjects.csv        columns file (relative path), subject, session, split
        root/README.txt                                  what this is; attacks are SIMULATED

    Subjects and sessions: scikit-image ships two usable face photographs
    (:data:`STANDIN_SOURCES`), so there are two subjects (``astronaut``, ``camera``), each
    captured in three sessions ``s1``-``s3`` (neutral, warm and cool light, different gain
    ranges). The split is by session: ``s1`` train, ``s2`` dev, ``s3`` test, so the test set is a
    capture session the model has not seen (as in NUAA's official protocol). Two identities are
    far too few for a claim about faces in general: numbers on this set show that the pipeline
    runs and that the features react to the simulated cues, nothing about real attacks.

    Bona fide sample = :func:`capture` of the source photograph (framing, light, noise, JPEG).
    Attack sample = the same camera model capturing a print (:func:`apply_print`) or a screen
    (:func:`apply_replay`) showing the source photograph, with its own drawn strengths.
    Every sample has its own generator ``SeedSequence([seed, subject, kind, index])``.

    Parameters
    ----------
    per_subject : int
        Bona fide samples per subject and session; as many prints and as many replays.
    size : (int, int)
        Width and height of the captures.
    seed : int
        Seed of the whole set; the same seed gives the same files, byte for byte.
    sources : tuple of str, optional
        Names from :data:`STANDIN_SOURCES` (default: all).

    Returns
    -------
    dict
        Counts per class and attack type, the subjects and the root.
    """
    if per_subject < 1:
        raise ConfigurationError(f"per_subject must be >= 1, got {per_subject}")
    chosen = [s for s in STANDIN_SOURCES if sources is None or s.name in sources]
    if not chosen:
        known = ", ".join(s.name for s in STANDIN_SOURCES)
        raise ConfigurationError(f"no stand-in source among {sources}; known: {known}")
    root = Path(root)
    rows: list[tuple[str, str, str, str]] = []
    counts = {"bona_fide": 0, "print": 0, "replay": 0}
    subjects: list[str] = []
    for si, src in enumerate(chosen):
        scene = _load_source(src)
        for k, (colour, gains) in enumerate(zip(_SESSIONS, _GAINS)):
            subject = src.name
            session = f"s{k + 1}"
            split = ("train", "dev", "test")[k]
            if k == 0:
                subjects.append(subject)
            sid = si * len(_SESSIONS) + k
            for kind, folder in ((0, "live"), (1, "spoof/print"), (2, "spoof/replay")):
                d = root / folder / subject / session
                d.mkdir(parents=True, exist_ok=True)
                for i in range(per_subject):
                    rng = _sample_rng(seed, sid, kind, i)
                    cap = CaptureParams.draw(rng, gains, colour)
                    medium: Any = None
                    if kind == 1:
                        pp = PrintParams.draw(rng)
                        medium = lambda v, pp=pp: apply_print(v, pp)  # noqa: E731
                    elif kind == 2:
                        rp = ReplayParams.draw(rng)
                        medium = lambda v, rp=rp: apply_replay(v, rp)  # noqa: E731
                    img = capture(scene, src.face, cap, size, medium)
                    tag = ("", "_print", "_replay")[kind]
                    name = f"{subject}_{session}{tag}_{i:03d}.png"
                    path = d / name
                    ok, buf = cv2.imencode(".png", img[:, :, ::-1])
                    if not ok:  # pragma: no cover
                        raise OSError(f"cannot encode {path}")
                    path.write_bytes(buf.tobytes())
                    rows.append((f"{folder}/{subject}/{session}/{name}", subject, session, split))
                    counts[("bona_fide", "print", "replay")[kind]] += 1
    with open(root / "subjects.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file", "subject", "session", "split"])
        w.writerows(rows)
    lines = [
        "iqa-liveness stand-in data set: the ATTACKS ARE SIMULATED (iqa_liveness.simulate).",
        "Bona fide captures are camera-model renderings of these public-domain / CC0 photos:",
        *[f"- {s.name}: {s.licence}; {s.origin}" for s in chosen],
        "Two subjects (one per photo), three lighting sessions each; split by session:"
        " s1 train, s2 dev, s3 test.",
        f"seed={seed} per_subject={per_subject} size={size[0]}x{size[1]}",
        "Print parameters: " + ", ".join(f.name for f in PrintParams.__dataclass_fields__.values()),
        "Replay parameters: "
        + ", ".join(f.name for f in ReplayParams.__dataclass_fields__.values()),
    ]
    (root / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"root": str(root), "subjects": subjects, "counts": counts, "seed": seed}
