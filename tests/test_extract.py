"""extract_to_store: failures, resume, parallel shards, SIGKILL and Ctrl-C of a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import dataset_fixtures
import numpy as np
import pytest
from dataset_fixtures import MeanStdFeatures, make_folder, make_image_folder

from iqa_liveness.datasets import get_dataset
from iqa_liveness.errors import ConfigurationError, FeatureStoreError
from iqa_liveness.extract import extract_to_store
from iqa_liveness.store import read_features, shard_dir

TESTS = Path(__file__).resolve().parent


def expected_row(sample):
    a = np.asarray(sample.load(), dtype=np.float64)
    return [a.mean(), a.std(), a.shape[0], a.shape[1]]


def test_extract_failures_and_resume(tmp_path):
    make_folder(tmp_path / "db")
    broken = tmp_path / "db" / "spoof" / "broken.png"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a png")
    samples = list(get_dataset("folder", tmp_path / "db").samples())
    store = tmp_path / "f.h5"
    ex = {"ms": MeanStdFeatures(dark=50.0)}
    rep = extract_to_store(samples[:5], ex, store, batch_size=2,
                           attrs={"dataset": "folder", "protocol": "all"})
    assert rep.n_samples == 5 and rep.n_skipped == 0
    rep2 = extract_to_store(samples, ex, store, batch_size=2)
    assert rep2.n_skipped == 5 and rep2.n_extracted + rep2.n_failed == len(samples) - 5
    fs = read_features(store)
    failed = dict(zip(fs.failed["sample_id"], fs.failed["error"]))
    assert failed["spoof/broken.png"] == "ImageReadError"
    dark = {s.sample_id for s in samples
            if s.sample_id != "spoof/broken.png" and np.asarray(s.load(), float).mean() < 50}
    assert dark and all(failed[i] == "NoFaceError" for i in dark)
    assert set(fs.metadata["sample_id"]) | set(failed) == {s.sample_id for s in samples}
    assert len(fs) + len(failed) == len(samples)
    by_id = {s.sample_id: s for s in samples}
    for sid, row in zip(fs.metadata["sample_id"], fs.X):
        np.testing.assert_array_equal(row, expected_row(by_id[sid]))
    assert fs.attrs["protocol"] == "all"
    assert fs.feature_names == ["ms__mean", "ms__std", "ms__height", "ms__width"]
    # retry the failures with a permissive extractor
    rep3 = extract_to_store(samples, {"ms": MeanStdFeatures()}, store, retry_failed=True)
    assert rep3.n_extracted == len(dark) and rep3.n_failed == 1
    fs = read_features(store)
    assert list(fs.failed["sample_id"]) == ["spoof/broken.png"]
    with pytest.raises(FeatureStoreError, match="other features"):
        extract_to_store(samples, {"other": MeanStdFeatures()}, store)
    with pytest.raises(ConfigurationError, match="duplicate"):
        extract_to_store(samples + samples[:1], ex, tmp_path / "g.h5")


def test_resume_with_extractors_not_in_name_order(tmp_path):
    """The store keeps the extraction's order {"z": .., "a": ..} (not HDF5's name order); a
    run with the same extractors in any order resumes it."""
    make_folder(tmp_path / "db")
    samples = list(get_dataset("folder", tmp_path / "db").samples())
    store = tmp_path / "f.h5"
    ex = {"z": MeanStdFeatures(), "a": MeanStdFeatures(dark=-2.0)}
    extract_to_store(samples[:3], ex, store)
    rep = extract_to_store(samples[:5], ex, store)
    assert rep.n_skipped == 3 and rep.n_extracted == 2
    rep = extract_to_store(samples, dict(reversed(ex.items())), store)
    assert rep.n_skipped == 5 and rep.n_extracted == len(samples) - 5
    fs = read_features(store)
    assert len(fs) == len(samples)
    assert [i.name for i in fs.extractors] == ["z", "a"]
    assert fs.feature_names[:2] == ["z__mean", "z__std"] and fs.feature_names[4] == "a__mean"
    by_id = {s.sample_id: s for s in samples}
    for sid, row in zip(fs.metadata["sample_id"], fs.X):
        np.testing.assert_array_equal(row, expected_row(by_id[sid]) * 2)


def test_video_frames_and_bad_frames(tmp_path):
    make_folder(tmp_path / "db")
    ds = get_dataset("folder", tmp_path / "db", frame_indices=[1, 3, 7])
    samples = list(ds.samples())
    store = tmp_path / "f.h5"
    extract_to_store(samples, {"ms": MeanStdFeatures()}, store)
    fs = read_features(store)
    frames = sorted(int(i) for i, sid in zip(fs.metadata["frame_index"], fs.metadata["sample_id"])
                    if sid.startswith("Spoof/replay"))
    assert frames == [1, 3]  # frame 7 is past the end of the 4-frame video: dropped
    from iqa_liveness.datasets import Sample

    past = Sample("v#9", str(tmp_path / "db/Spoof/replay/d.avi"), "attack", frame_index=9)
    extract_to_store([past], {"ms": MeanStdFeatures()}, tmp_path / "g.h5")
    fs = read_features(tmp_path / "g.h5")
    assert fs.failed["error"].tolist() == ["VideoReadError"]
    assert "d.avi" in fs.failed["reason"][0]


def test_parallel_equals_serial(tmp_path):
    cloudpickle = pytest.importorskip("cloudpickle")
    cloudpickle.register_pickle_by_value(dataset_fixtures)  # workers cannot import tests/
    samples = list(get_dataset("folder", make_image_folder(tmp_path / "db", 24)).samples())
    ex = {"ms": MeanStdFeatures(dark=60.0)}
    extract_to_store(samples, ex, tmp_path / "serial.h5", batch_size=5)
    rep = extract_to_store(samples, ex, tmp_path / "par.h5", n_jobs=2, batch_size=5)
    assert rep.n_extracted + rep.n_failed == 24
    a, b = read_features(tmp_path / "serial.h5"), read_features(tmp_path / "par.h5")
    order_a, order_b = np.argsort(a.metadata["sample_id"]), np.argsort(b.metadata["sample_id"])
    np.testing.assert_array_equal(a.X[order_a], b.X[order_b])
    assert sorted(a.failed["sample_id"]) == sorted(b.failed["sample_id"])
    assert not shard_dir(tmp_path / "par.h5").exists()


SCRIPT = textwrap.dedent(
    """
    import signal, sys, time
    # a process started in the background by a non-interactive shell (as CI may) inherits
    # SIGINT ignored; Ctrl-C is what this test simulates, so restore Python's handler
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, {tests!r})
    from dataset_fixtures import MeanStdFeatures
    from iqa_liveness.datasets import get_dataset
    from iqa_liveness.extract import extract_to_store
    samples = list(get_dataset("folder", {db!r}).samples())


    class Blocking(MeanStdFeatures):
        # after 9 images (3 whole shards of 3), say so and wait to be interrupted
        seen = 0

        def transform(self, images):
            Blocking.seen += 1
            if Blocking.seen > 9:
                print("ready", flush=True)
                while True:
                    time.sleep(1)
            return super().transform(images)


    extract_to_store(samples, {{"ms": Blocking()}}, {store!r}, batch_size=3)
    """
)


def run_and_signal(tmp_path, sig, name):
    """Interrupt an extraction that is deterministically blocked after 3 whole shards."""
    db = make_image_folder(tmp_path / "db", 40)
    store = tmp_path / f"{name}.h5"
    code = SCRIPT.format(tests=str(TESTS), db=str(db), store=str(store))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        assert len(list(shard_dir(store).glob("*.h5"))) == 3
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return db, store, proc.returncode


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_interrupted_process_leaves_whole_samples(tmp_path, sig):
    db, store, rc = run_and_signal(tmp_path, sig, "f")
    assert rc != 0
    samples = {s.sample_id: s for s in get_dataset("folder", db).samples()}
    fs = read_features(store)  # opens; holds only whole samples
    assert len(fs) == 9  # the 3 whole shards
    for sid, row in zip(fs.metadata["sample_id"], fs.X):
        np.testing.assert_array_equal(row, expected_row(samples[sid]))
    if sig == signal.SIGINT:  # Ctrl-C: shards merged into the one file
        assert not shard_dir(store).exists()
    done = len(fs)
    rep = extract_to_store(list(samples.values()), {"ms": MeanStdFeatures()}, store)
    assert rep.n_skipped == done and rep.n_extracted == 40 - done
    fs = read_features(store)
    assert sorted(fs.metadata["sample_id"]) == sorted(samples)
    for sid, row in zip(fs.metadata["sample_id"], fs.X):
        np.testing.assert_array_equal(row, expected_row(samples[sid]))


class _NoModel(MeanStdFeatures):
    def transform(self, images):
        from iqa_liveness.errors import ModelFileError

        raise ModelFileError("model directory not found: /nowhere")


def test_setup_errors_stop_the_run(tmp_path):
    samples = list(get_dataset("folder", make_image_folder(tmp_path / "db", 6)).samples())
    from iqa_liveness.errors import ModelFileError

    with pytest.raises(ModelFileError, match="nowhere"):
        extract_to_store(samples, {"ms": _NoModel()}, tmp_path / "f.h5", batch_size=2)
    fs = read_features(tmp_path / "f.h5")  # the store exists, empty, and nothing is "failed"
    assert len(fs) == 0 and fs.failed["sample_id"].size == 0
    rep = extract_to_store(samples, {"ms": MeanStdFeatures()}, tmp_path / "f.h5")
    assert rep.n_extracted == 6


KILL_DRIVER = textwrap.dedent(
    """
    import os, shutil, signal, sys, traceback
    sys.path.insert(0, {tests!r})
    import h5py
    from dataset_fixtures import MeanStdFeatures
    from iqa_liveness.datasets import get_dataset
    from iqa_liveness.extract import extract_to_store

    base, out = sys.argv[1], sys.argv[2]
    samples = list(get_dataset("folder", {db!r}).samples())

    def run_killed_at(n, work):
        # SIGKILL just before the n-th step that changes or may flush files
        count = 0

        def hook(fn):
            def wrapped(*args, **kwargs):
                nonlocal count
                count += 1
                if count == n:
                    os.kill(os.getpid(), signal.SIGKILL)
                return fn(*args, **kwargs)
            return wrapped

        for name in ("mkdir", "replace", "rename", "unlink", "rmdir", "fsync"):
            setattr(os, name, hook(getattr(os, name)))
        close = h5py.File.close
        writes = hook(close)
        h5py.File.close = lambda f: (close if not f or f.mode == "r" else writes)(f)
        extract_to_store(samples, {{"ms": MeanStdFeatures(dark={dark})}},
                         os.path.join(work, "f.h5"), batch_size=1)

    n = 0
    while True:
        n += 1
        work = os.path.join(out, f"{{n:03d}}")
        if base:
            shutil.copytree(base, work)
        else:
            os.makedirs(work)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                run_killed_at(n, work)
                code = 0
            except BaseException:
                traceback.print_exc()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            continue
        shutil.rmtree(work)  # ran to the end: n is past the last step
        print(n - 1, flush=True)
        sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)
    """
)
DARK = 50.0  # of the 3 images below, the first (level 20) fails with NoFaceError


def kill_states(tmp_path, db, base, name):
    """Directories left by an extraction (from a copy of ``base``, or from nothing) killed
    at each of its file steps in turn, one process each: deterministic, load-independent."""
    out = tmp_path / name
    out.mkdir()
    code = KILL_DRIVER.format(tests=str(TESTS), db=str(db), dark=DARK)
    rc = subprocess.run([sys.executable, "-c", code, str(base or ""), str(out)],
                        capture_output=True, text=True, timeout=300,
                        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert rc.returncode == 0, rc.stderr
    states = sorted(out.iterdir())
    assert len(states) == int(rc.stdout.split()[-1])
    return states


def check_state_then_resume(work, samples):
    """The killed state reads as whole samples (or as no store); a resumption completes it."""
    store = work / "f.h5"
    kind = set()
    shards = list(shard_dir(store).glob("*.h5")) if shard_dir(store).is_dir() else []
    # the store is created whole before any shard: no shard directory without it
    assert store.exists() or not shard_dir(store).exists()
    if store.exists() or shards:
        fs = read_features(store)
        assert len(set(fs.sample_id)) == len(fs)
        for sid, row in zip(fs.sample_id, fs.X):
            np.testing.assert_array_equal(row, expected_row(samples[sid]))
        assert set(fs.failed["sample_id"]) <= {"real/img000.png"}
        kind.add("store" if store.exists() else "shards only")
        kind.update(["shards"] if shards else [])
    else:
        with pytest.raises(FeatureStoreError, match="no feature store"):
            read_features(store)
        kind.add("no store")
    if list(work.rglob("*.tmp")):
        kind.add("tmp")
    rep = extract_to_store(list(samples.values()), {"ms": MeanStdFeatures(dark=DARK)}, store)
    assert rep.n_skipped + rep.n_extracted + rep.n_failed == 3
    fs = read_features(store)
    assert sorted(fs.sample_id) == sorted(set(samples) - {"real/img000.png"})
    for sid, row in zip(fs.sample_id, fs.X):
        np.testing.assert_array_equal(row, expected_row(samples[sid]))
    assert fs.failed["sample_id"].tolist() == ["real/img000.png"]
    assert fs.failed["error"].tolist() == ["NoFaceError"]
    assert not list(work.rglob("*.tmp")) and not shard_dir(store).exists()
    return kind


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork and SIGKILL")
def test_killed_at_every_step_reads_and_resumes(tmp_path):
    """SIGKILL before each file step (mkdir, write/close, fsync, rename, unlink, rmdir) of a
    new extraction, then of a resumption that finds shards and stale .tmp files: every state
    left reads as whole samples, and one more run completes it."""
    db = make_image_folder(tmp_path / "db", 3)
    samples = {s.sample_id: s for s in get_dataset("folder", db).samples()}
    states = kill_states(tmp_path, db, None, "fresh")
    assert len(states) >= 20  # the hooks saw the steps of 3 batches and the merges
    # a mid-run state (store and some shards) with stale .tmp files left by killed writers
    base = next(d for d in states if (d / "f.h5").exists()
                and len(list(shard_dir(d / "f.h5").glob("*.h5"))) == 2)
    (shard_dir(base / "f.h5") / "shard-x.h5.tmp").write_bytes(b"half a shard")
    (base / "f.h5.tmp").write_bytes(b"half a merge")
    resumed = kill_states(tmp_path, db, base, "resumed")
    assert len(resumed) >= 10
    kinds: set[str] = set()
    for work in states + resumed:
        kinds |= check_state_then_resume(work, samples)
    assert kinds == {"no store", "store", "shards", "tmp"}


class _FaceBox:
    """Reports the face it is given (x, y, w, h), or -1s: checks what extract passes it."""

    detector = "haar"
    face = "largest"

    def get_params(self, deep=True):
        return {}

    def get_feature_names_out(self, input_features=None):
        return np.array(["x", "y", "w", "h"], dtype=object)

    def transform(self, images, faces=None):
        if faces is None or faces[0] is None:
            return np.full((len(images), 4), -1.0)
        return np.array([list(f.box) for f in faces], dtype=np.float64)


def test_given_faces(tmp_path):
    from dataclasses import replace

    db = make_image_folder(tmp_path / "db", 2)
    a, b = list(get_dataset("folder", db).samples())
    a = replace(a, box=(1, 2, 8, 9))
    extract_to_store([a, b], {"f": _FaceBox()}, tmp_path / "given.h5", given_faces=True)
    fs = read_features(tmp_path / "given.h5")
    rows = dict(zip(fs.metadata["sample_id"], fs.X.tolist()))
    assert rows[a.sample_id] == [1.0, 2.0, 8.0, 9.0]
    assert rows[b.sample_id] == [-1.0] * 4  # no given face: detected (none on noise)
    extract_to_store([a], {"f": _FaceBox()}, tmp_path / "detect.h5")
    assert read_features(tmp_path / "detect.h5").X.tolist() == [[-1.0] * 4]


def test_progress_callback(tmp_path):
    samples = list(get_dataset("folder", make_image_folder(tmp_path / "db", 5)).samples())
    calls = []
    extract_to_store(samples, {"ms": MeanStdFeatures(dark=60.0)}, tmp_path / "f.h5",
                     batch_size=2, progress=lambda done, total, failed: calls.append(
                         (done, total, failed)))
    fs = read_features(tmp_path / "f.h5")
    assert [c[0] for c in calls] == [2, 4, 5] and {c[1] for c in calls} == {5}
    assert calls[-1][2] == len(fs.failed["sample_id"])
