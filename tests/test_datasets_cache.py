"""Frame cache: decoded once, served back by sample id, used by extract_to_store."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from dataset_fixtures import MeanStdFeatures, make_folder

from iqa_liveness.datasets import get_dataset
from iqa_liveness.datasets.cache import FrameCache, build_frame_cache
from iqa_liveness.errors import FeatureStoreError, ImageReadError
from iqa_liveness.extract import extract_to_store
from iqa_liveness.store import read_features


def test_cache_round_trip_and_extraction(tmp_path):
    make_folder(tmp_path / "db")
    (tmp_path / "db" / "real" / "bad.png").write_bytes(b"not an image")
    samples = list(get_dataset("folder", tmp_path / "db").samples())
    rep = build_frame_cache(samples, tmp_path / "frames.h5")
    assert rep.n_cached == len(samples) - 1
    assert [sid for sid, _ in rep.failed] == ["real/bad.png"]
    cache = FrameCache(tmp_path / "frames.h5")
    good = [s for s in samples if s.sample_id != "real/bad.png"]
    for s in good:
        np.testing.assert_array_equal(cache.load(s), s.load())
    assert "real/bad.png" not in cache and len(cache) == len(good)
    with pytest.raises(ImageReadError, match="not in the frame cache"):
        cache.load("real/bad.png")
    with h5py.File(tmp_path / "frames.h5", "r") as f:  # one chunk per frame
        for ds in f["frames"].values():
            assert ds.chunks == (1, *ds.shape[1:])
    # extraction from the cache equals extraction from the files ...
    extract_to_store(good, {"ms": MeanStdFeatures()}, tmp_path / "a.h5")
    # ... and no longer needs the video once it is cached
    (tmp_path / "db" / "Spoof" / "replay" / "d.avi").unlink()
    extract_to_store(good, {"ms": MeanStdFeatures()}, tmp_path / "b.h5",
                     frame_cache=tmp_path / "frames.h5")
    a, b = read_features(tmp_path / "a.h5"), read_features(tmp_path / "b.h5")
    assert list(a.metadata["sample_id"]) == list(b.metadata["sample_id"])
    np.testing.assert_array_equal(a.X, b.X)
    assert len(b.failed["sample_id"]) == 0
    with pytest.raises(FeatureStoreError):
        FrameCache(tmp_path / "a.h5")
