"""HDF5 feature store: layout, reading, subsets, merge, crash states."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from iqa_liveness import __version__
from iqa_liveness.errors import ConfigurationError, FeatureStoreError
from iqa_liveness.store import (
    ExtractorInfo,
    FeatureSet,
    merge_shards,
    read_failed,
    read_features,
    shard_dir,
    store_extractors,
    stored_ids,
    write_shard,
)

INFOS = [ExtractorInfo("a", ("f0", "f1"), '{"k": 1}', "m.A"), ExtractorInfo("b", ("g0",))]


def cols(ids, labels=None, split="train"):
    n = len(ids)
    return {
        "sample_id": ids,
        "label": labels or ["bona_fide" if i % 2 == 0 else "attack" for i in range(n)],
        "attack_type": [None if i % 2 == 0 else "print" for i in range(n)],
        "subject": [f"s{i % 3}" for i in range(n)],
        "session": ["1"] * n,
        "device": [None] * n,
        "split": [split] * n,
        "source": [f"/data/{i}" for i in ids],
        "frame_index": [None if i % 2 == 0 else i for i in range(n)],
    }


def feats(start, n):
    rows = np.arange(start, start + n, dtype=np.float64)
    return {"a": np.stack([rows, rows * 10], axis=1), "b": rows[:, None] * -1.0}


def shard(path, name, start, n, failed=None, split="train"):
    ids = [f"id{i:03d}" for i in range(start, start + n)]
    return write_shard(shard_dir(path), name, samples=cols(ids, split=split),
                       features=feats(start, n), extractors=INFOS, failed=failed,
                       attrs={"dataset": "toy", "protocol": "p1"})


def test_write_merge_read(tmp_path):
    store = tmp_path / "f.h5"
    shard(store, "s1", 0, 5)
    shard(store, "s2", 5, 3, failed={"sample_id": ["bad"], "source": ["/x"], "frame_index": [3],
                                     "label": ["attack"], "extractor": ["a"],
                                     "error": ["NoFaceError"], "reason": ["no face"]})
    # readable before the merge (file absent, shards only)
    fs = read_features(store)
    assert len(fs) == 8
    assert merge_shards(store) == 8
    assert not shard_dir(store).exists()
    fs = read_features(store)
    np.testing.assert_array_equal(fs.X[:, 0], np.arange(8.0))
    np.testing.assert_array_equal(fs.X[:, 1], np.arange(8.0) * 10)
    np.testing.assert_array_equal(fs.X[:, 2], -np.arange(8.0))
    assert fs.feature_names == ["a__f0", "a__f1", "b__g0"]
    np.testing.assert_array_equal(fs.y, [1, 0, 1, 0, 1, 1, 0, 1])
    assert fs.metadata["label"][1] == "attack" and fs.metadata["attack_type"][0] == ""
    assert fs.metadata["frame_index"][0] == -1 and fs.metadata["frame_index"][1] == 1
    assert fs.attrs["dataset"] == "toy" and fs.attrs["package_version"] == __version__
    assert fs.failed["reason"].tolist() == ["no face"] and fs.failed["frame_index"][0] == 3
    assert stored_ids(store) == {f"id{i:03d}" for i in range(8)} | {"bad"}
    assert stored_ids(store, include_failed=False) == {f"id{i:03d}" for i in range(8)}
    # plain h5py sees the documented layout
    with h5py.File(store, "r") as f:
        ds = f["features/a"]
        assert ds.shape == (8, 2) and ds.compression == "gzip" and ds.chunks is not None
        assert list(ds.attrs["feature_names"].astype(str)) == ["f0", "f1"]
        assert ds.attrs["config"] == '{"k": 1}'
        assert f["samples/sample_id"].asstr()[0] == "id000"
        assert f.attrs["format"] == "iqa-liveness-features" and f.attrs["protocol"] == "p1"
    # appending after a merge
    shard(store, "s3", 8, 2, split="test")
    assert merge_shards(store) == 2
    fs = read_features(store, extractors=["b"], dtype=np.float32)
    assert fs.X.dtype == np.float32 and fs.X.shape == (10, 1)
    assert fs.feature_names == ["b__g0"]


def test_subset():
    X = np.arange(12.0).reshape(4, 3)
    meta = {"split": np.array(["train", "test", "train", "dev"], object),
            "subject": np.array(["1", "2", "3", "1"], object)}
    fs = FeatureSet(X, np.array([1, 0, 1, 0], np.int8), meta, ["a__x", "a__y", "b__z"],
                    extractors=[ExtractorInfo("a", ("x", "y")), ExtractorInfo("b", ("z",))])
    sub = fs.subset(split=["train", "dev"], subject="1")
    np.testing.assert_array_equal(sub.X, X[[0, 3]])
    np.testing.assert_array_equal(sub.y, [1, 0])
    sub = fs.subset([1, 2], extractors=["b"])
    np.testing.assert_array_equal(sub.X, X[[1, 2]][:, [2]])
    assert sub.feature_names == ["b__z"] and fs.columns("a") == slice(0, 2)
    assert len(fs.subset(y=1)) == 2
    with pytest.raises(ConfigurationError):
        fs.subset(colour="red")
    with pytest.raises(ConfigurationError):
        fs.subset(extractors=["zzz"])


def test_crash_states(tmp_path):
    """Every state a kill can leave: stale .tmp shard, stale .tmp store, merged-not-deleted."""
    store = tmp_path / "f.h5"
    shard(store, "s1", 0, 4)
    merge_shards(store)
    before = read_features(store).X.copy()
    shard(store, "s2", 4, 2)
    # killed while writing a shard: a partial .tmp shard
    (shard_dir(store) / "s3.h5.tmp").write_bytes(b"\x89HDF partial")
    # killed while merging: a partial .tmp store
    (tmp_path / "f.h5.tmp").write_bytes(b"garbage")
    fs = read_features(store)
    assert len(fs) == 6
    np.testing.assert_array_equal(fs.X[:4], before)
    # killed after the merge's replace but before the shards were deleted: duplicates by id
    merge_shards(store)
    shard(store, "s4", 4, 2)  # the same samples again
    fs = read_features(store)
    assert len(fs) == 6 and len(set(fs.metadata["sample_id"])) == 6
    assert merge_shards(store) == 0
    assert len(read_features(store)) == 6
    assert not list(tmp_path.glob("*.tmp"))


def test_errors(tmp_path):
    with pytest.raises(FeatureStoreError, match="no feature store"):
        read_features(tmp_path / "absent.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(FeatureStoreError, match="not an iqa-liveness"):
        read_features(tmp_path / "other.h5")
    # a file that is not HDF5 at all (e.g. a model file given as a store)
    (tmp_path / "model.iqa").write_bytes(b"PK\x03\x04 not hdf5")
    for read in (read_features, store_extractors, stored_ids):
        with pytest.raises(FeatureStoreError, match="model.iqa is not an HDF5 feature store"):
            read(tmp_path / "model.iqa")
    store = tmp_path / "f.h5"
    shard(store, "s1", 0, 2)
    write_shard(shard_dir(store), "s2", samples=cols(["z"]), features={"a": np.zeros((1, 3))},
                extractors=[ExtractorInfo("a", ("f0", "f1", "f2"))])
    with pytest.raises(FeatureStoreError, match="other extractors"):
        merge_shards(store)
    with pytest.raises(ConfigurationError):
        write_shard(tmp_path, "s3", samples=cols(["q"], labels=["live"]), features=feats(0, 1),
                    extractors=INFOS)
    assert read_failed(tmp_path / "nothing.h5")["sample_id"].size == 0


def test_memory_frugal_read(tmp_path):
    """Reading allocates X once: peak traced memory stays below 2x the data size."""
    import tracemalloc

    n, d = 5000, 400
    store = tmp_path / "big.h5"
    ids = [f"{i:06d}" for i in range(n)]
    x = np.random.default_rng(0).random((n, d))
    write_shard(shard_dir(store), "s", samples=cols(ids), features={"a": x},
                extractors=[ExtractorInfo("a", tuple(f"f{j}" for j in range(d)))])
    merge_shards(store)
    del x
    tracemalloc.start()
    fs = read_features(store)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert fs.X.shape == (n, d)
    assert peak < 1.5 * fs.X.nbytes, peak / fs.X.nbytes  # X once, plus metadata


def test_foreign_shard_is_an_error(tmp_path):
    store = tmp_path / "f.h5"
    shard(store, "s1", 0, 2)
    write_shard(shard_dir(store), "s2", samples=cols(["z"]), features={"c": np.zeros((1, 1))},
                extractors=[ExtractorInfo("c", ("h0",))])
    with pytest.raises(FeatureStoreError, match="no features"):
        read_features(store)


def test_atomic_hdf5_replaces_only_on_success(tmp_path):
    import h5py

    from iqa_liveness.store import atomic_hdf5

    final = tmp_path / "x.h5"
    with atomic_hdf5(final) as f:
        f.attrs["v"] = 1
    with pytest.raises(RuntimeError, match="killed"):
        with atomic_hdf5(final) as f:
            f.attrs["v"] = 2
            raise RuntimeError("killed")
    with h5py.File(final, "r") as f:
        assert int(f.attrs["v"]) == 1  # the failed write left the file as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.h5"]  # and no .tmp behind


FAILED_X = {"sample_id": ["id001"], "source": ["/x"], "frame_index": [None],
            "label": ["attack"], "extractor": ["a"], "error": ["NoFaceError"], "reason": ["-"]}


def test_retry_killed_before_its_merge(tmp_path):
    """A sample failed in the store and stored by an unmerged retry shard is not failed."""
    store = tmp_path / "f.h5"
    shard(store, "s1", 0, 1, failed=FAILED_X)
    merge_shards(store)
    assert read_failed(store)["sample_id"].tolist() == ["id001"]
    shard(store, "s2", 1, 1)  # the retry stored id001; killed before merging
    assert read_failed(store)["sample_id"].size == 0
    assert read_features(store).failed["sample_id"].size == 0
    merge_shards(store)
    assert read_failed(store)["sample_id"].size == 0 and len(read_features(store)) == 2


def test_create_store_and_merge_leftovers(tmp_path):
    from iqa_liveness.store import create_store, store_extractors

    store = tmp_path / "sub" / "f.h5"
    create_store(store, INFOS, {"dataset": "toy"})
    assert store_extractors(store) == INFOS and not shard_dir(store).exists()
    fs = read_features(store)
    assert fs.X.shape == (0, 3) and fs.attrs["dataset"] == "toy"
    # a merge killed after deleting its shards leaves an empty directory; a stale .tmp store
    shard_dir(store).mkdir()
    (store.parent / "f.h5.tmp").write_bytes(b"half a merge")
    assert merge_shards(store) == 0
    assert sorted(p.name for p in store.parent.iterdir()) == ["f.h5"]


def test_extractor_order_is_kept(tmp_path):
    """The store keeps its extraction's extractor order (not HDF5's name order); shards with
    the same extractors in another order (a resumption) merge into that order."""
    from iqa_liveness.store import create_store, store_extractors

    store = tmp_path / "f.h5"
    create_store(store, INFOS[::-1])  # b, then a
    shard(store, "s1", 0, 3)  # written as a, b
    fs = read_features(store)  # unmerged: the store's order
    assert fs.feature_names == ["b__g0", "a__f0", "a__f1"]
    np.testing.assert_array_equal(fs.X, np.stack([-np.arange(3.0), np.arange(3.0),
                                                  np.arange(3.0) * 10], axis=1))
    merge_shards(store)
    assert [i.name for i in store_extractors(store)] == ["b", "a"]
    assert read_features(store).feature_names == ["b__g0", "a__f0", "a__f1"]
    assert read_features(store, ["a"]).feature_names == ["a__f0", "a__f1"]
    with h5py.File(store, "r+") as f:
        assert list(f["features"].attrs["order"].astype(str)) == ["b", "a"]
        del f["features"].attrs["order"]  # a store written before the attribute existed
    assert [i.name for i in store_extractors(store)] == ["a", "b"]  # name order
