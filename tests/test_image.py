import numpy as np
import pytest

from iqa_liveness.errors import (
    ImageReadError,
    ImageTooSmallError,
    InvalidImageError,
    IQALivenessError,
)
from iqa_liveness.image import MIN_SIDE, load_grey, load_image, to_grey


def test_bt601_luma_rgb_and_bgr_agree():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    g = to_grey(load_image(rgb))
    expect = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    np.testing.assert_allclose(g, expect, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(load_grey(rgb[..., ::-1].copy(), order="BGR"), g)


def test_path_is_read_as_rgb(tmp_path):
    import cv2

    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), rgb[..., ::-1])  # OpenCV writes BGR
    np.testing.assert_array_equal(load_image(path), rgb)
    np.testing.assert_array_equal(load_grey(str(path)), load_grey(rgb))


def test_dtypes_map_to_0_255():
    u8 = np.full((10, 10), 200, np.uint8)
    assert load_grey(u8)[0, 0] == 200.0
    assert load_grey(u8.astype(np.uint16) * 257)[0, 0] == pytest.approx(200.0)
    assert load_grey(u8 / 255.0)[0, 0] == pytest.approx(200.0)


@pytest.mark.parametrize(
    "bad, exc",
    [
        (np.zeros((0, 10), np.uint8), InvalidImageError),
        (np.zeros((10, 10, 2), np.uint8), InvalidImageError),
        (np.zeros((10,), np.uint8), InvalidImageError),
        (np.zeros((10, 10), np.int32), InvalidImageError),
        (np.zeros((10, 10), bool), InvalidImageError),
        (np.full((10, 10), np.nan), InvalidImageError),
        (np.full((10, 10), 2.0), InvalidImageError),
        (np.zeros((MIN_SIDE - 1, 50), np.uint8), ImageTooSmallError),
        ("/nonexistent/file.png", ImageReadError),
        (12, InvalidImageError),
    ],
)
def test_bad_input_is_a_specific_error(bad, exc):
    with pytest.raises(exc) as info:
        load_image(bad)
    assert isinstance(info.value, IQALivenessError)


def test_undecodable_file(tmp_path):
    p = tmp_path / "broken.jpg"
    p.write_bytes(b"not an image")
    with pytest.raises(ImageReadError, match="cannot decode"):
        load_image(p)


def test_directory_is_not_an_image(tmp_path):
    # e.g. `iqa-liveness predict --model M captures/`: say what is wrong, not "not found"
    with pytest.raises(ImageReadError, match="is a directory, not an image file"):
        load_image(tmp_path)
