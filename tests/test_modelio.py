"""Model files: round trips to the last bit, provenance, and safe, specific failures."""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import pickle
import zipfile

import numpy as np
import pytest

from iqa_liveness import __version__
from iqa_liveness.classifiers import LibSVMClassifier, ShrinkageLDA
from iqa_liveness.errors import (
    ConfigurationError,
    ModelCorruptError,
    ModelFileError,
    ModelPartMissingError,
    ModelShapeError,
    ModelVersionError,
)
from iqa_liveness.fusion import ScoreFusion, ScoreTable, fit_tests, out_of_fold_score_table
from iqa_liveness.modelio import (
    FORMAT_VERSION,
    LivenessModel,
    Member,
    describe_training_data,
    load_model,
    save_model,
)

NAMES = ("a", "b", "c", "d", "e")


def _data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(2 * n, int), np.ones(n, int)]
    X = y[:, None] * np.array([0.9, 0.5, 0.7, 0.3, 0.6]) + rng.normal(0, 1, (3 * n, 5))
    return X, y, np.arange(3 * n) % 6


def _single(est):
    X, y, g = _data()
    Xd, yd, _ = _data(seed=1)
    est.fit(X, y, X_dev=Xd, y_dev=yd)
    return LivenessModel.single(
        est,
        NAMES,
        feature_config={"extractors": [{"name": "quality", "params": {"sigma": 0.5}}]},
        working_size=(128, 96),
        training_data=describe_training_data(
            y, dataset="synthetic", split="train", attack_types=["print"] * 120 + [None] * 60
        ),
    )


def _fusion_model():
    X, y, g = _data()
    Xd, yd, _ = _data(seed=1)
    tests = {"iqa": ShrinkageLDA(), "tex": LibSVMClassifier(C=1.0, gamma=0.2)}
    cols = {"iqa": [0, 1], "tex": [2, 3, 4]}
    Xs = {k: X[:, v] for k, v in cols.items()}
    oof = out_of_fold_score_table(tests, Xs, y, groups=g)
    ext = y + np.random.default_rng(7).normal(0, 1, y.size)
    train = ScoreTable.from_columns(
        {"iqa": oof.column("iqa"), "tex": oof.column("tex"), "cnn": ext}
    )
    fitted = fit_tests(tests, Xs, y, groups=g)
    fusion = ScoreFusion(impute="median").fit(train, y, groups=g)
    members = tuple(Member(k, fitted[k], tuple(NAMES[i] for i in cols[k])) for k in tests)
    return LivenessModel({"extractors": []}, NAMES, members, fusion=fusion)


MODELS = {
    "lda": lambda: _single(ShrinkageLDA()),
    "svm-rbf": lambda: _single(LibSVMClassifier(C=(0.25, 4.0), gamma=(0.05, 0.5))),
    "svm-linear": lambda: _single(LibSVMClassifier(kernel="linear", C=(0.25, 4.0))),
    "fusion": _fusion_model,
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    out = {}
    for k, make in MODELS.items():
        m = make()
        p = d / f"{k}.ilm"
        save_model(m, p)
        out[k] = (m, p)
    return out


@pytest.mark.parametrize("kind", list(MODELS))
def test_round_trip_is_exact(saved, kind, tmp_path):
    m, p = saved[kind]
    X, _, _ = _data(seed=3)
    ext = {"cnn": np.linspace(-1, 2, X.shape[0])} if kind == "fusion" else None
    r = load_model(p)
    assert r.score_samples(X, ext).tobytes() == m.score_samples(X, ext).tobytes()
    assert np.array_equal(r.predict(X, ext), m.predict(X, ext))
    assert r.threshold == m.threshold
    assert r.feature_names == m.feature_names and r.working_size == m.working_size
    assert r.provenance == m.provenance
    for a, b in zip(r.members, m.members):
        assert a.name == b.name and a.features == b.features
        assert a.estimator.get_params() == b.estimator.get_params()
        assert a.estimator.score_samples(X[:, : len(a.features)]).tobytes() == (
            b.estimator.score_samples(X[:, : len(b.features)]).tobytes()
        )
    # saving the loaded model gives the same bytes
    save_model(r, tmp_path / "again.ilm")
    assert (tmp_path / "again.ilm").read_bytes() == p.read_bytes()


def test_provenance_and_manifest(saved):
    m, p = saved["svm-rbf"]
    with zipfile.ZipFile(p) as zf:
        man = json.loads(zf.read("manifest.json"))
        names = sorted(zf.namelist())
    assert man["format"] == "iqa-liveness-model" and man["format_version"] == FORMAT_VERSION
    assert names == [
        "manifest.json",
        "members/0/data_min.npy",
        "members/0/grid_eer.npy",
        "members/0/model_text.libsvm",
        "members/0/scale_factor.npy",
    ]
    prov = man["provenance"]
    assert prov["package_version"] == __version__
    assert prov["training_data"] == {
        "dataset": "synthetic",
        "split": "train",
        "counts": {"bona_fide": 60, "attack": 120},
        "attack_types": {"print": 120},
    }
    assert prov["threshold"] == m.threshold and prov["threshold_source"] == "development set"
    assert prov["dev_eer"] == m.final.calibration_eer_
    assert prov["feature_config"]["extractors"][0]["params"] == {"sigma": 0.5}
    assert man["working_size"] == [128, 96]
    assert len(prov["created"]) == 20 and prov["created"].endswith("Z")


def test_fusion_model_needs_external_scores(saved):
    m, p = saved["fusion"]
    r = load_model(p)
    assert r.external_tests == ("cnn",)
    X, _, _ = _data(seed=3)
    with pytest.raises(ConfigurationError, match="external test 'cnn'"):
        r.score_samples(X)
    # the fusion's median imputation survives the round trip
    assert r.fusion.impute_values_.tobytes() == m.fusion.impute_values_.tobytes()
    ext = {"cnn": np.full(X.shape[0], np.nan)}
    assert np.all(np.isfinite(r.score_samples(X, ext)))


def test_fusion_of_external_scores_only(tmp_path):
    rng = np.random.default_rng(4)
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    table = ScoreTable.from_columns(
        {"cnn": y + rng.normal(0, 1, 100), "vendor": 2 * y + rng.normal(0, 1, 100)}
    )
    fusion = ScoreFusion().fit(table, y)
    m = LivenessModel({}, (), (), fusion=fusion)
    assert m.external_tests == ("cnn", "vendor")
    save_model(m, tmp_path / "ext.ilm")
    r = load_model(tmp_path / "ext.ilm")
    assert r.score_samples(None, table).tobytes() == fusion.score_samples(table).tobytes()
    assert r.threshold == fusion.threshold_
    with pytest.raises(ConfigurationError, match="at least one liveness test or a fusion"):
        LivenessModel({}, (), ())


# -- crafted and damaged files -------------------------------------------------------------
def _assert_refused(p, tmp_path, change, error, match=None, **kwargs):
    """The model file ``p`` rewritten by ``change`` is refused with ``error`` (``match``)."""
    with pytest.raises(error, match=match):
        load_model(_rewrite(p, tmp_path / "changed.ilm", change, **kwargs))


def _rewrite(src, dst, change=None, fix_checksums=True, extra=None, drop=()):
    with zipfile.ZipFile(src) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    man = json.loads(parts.pop("manifest.json"))
    if change:
        change(man, parts)
    for k in drop:
        parts.pop(k)
    if fix_checksums:
        man["parts"] = {
            k: {"sha256": hashlib.sha256(v).hexdigest(), "size": len(v)}
            for k, v in parts.items()
            if k in man["parts"]
        }
    parts.update(extra or {})
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr("manifest.json", json.dumps(man))
        for k, v in parts.items():
            zf.writestr(k, v)
    return dst


class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def test_pickle_payloads_never_run(saved, tmp_path):
    _, p = saved["lda"]
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Evil(marker))
    buf = io.BytesIO()
    np.save(buf, np.array([_Evil(marker)], dtype=object), allow_pickle=True)
    obj_npy = buf.getvalue()
    crafted = [
        ("pickle.npy", {"members/0/mean.npy": payload}, None),
        ("object.npy", {"members/0/coef.npy": obj_npy}, None),
        ("extra.pkl", {}, {"model.pkl": payload}),
    ]
    for name, replace, extra in crafted:

        def change(man, parts, replace=replace):
            parts.update(replace)

        f = _rewrite(p, tmp_path / name, change, extra=extra)
        with pytest.raises(ModelCorruptError):
            load_model(f)
        assert not marker.exists()
    # the object array really is a live payload: unpickling it would run code
    np.load(io.BytesIO(obj_npy), allow_pickle=True)
    assert marker.exists()


def test_truncated_and_garbage_files(saved, tmp_path):
    _, p = saved["svm-linear"]
    data = p.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 5):
        f = tmp_path / f"cut{cut}.ilm"
        f.write_bytes(data[:cut])
        with pytest.raises(ModelFileError):
            load_model(f)
    f = tmp_path / "text.ilm"
    f.write_text("not a model")
    with pytest.raises(ModelCorruptError):
        load_model(f)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.ilm")


def test_flipped_byte_fails_checksum(saved, tmp_path):
    _, p = saved["lda"]

    def change(man, parts):
        b = bytearray(parts["members/0/coef.npy"])
        b[-1] ^= 1
        parts["members/0/coef.npy"] = bytes(b)

    _assert_refused(p, tmp_path, change, ModelCorruptError, "checksum", fix_checksums=False)


def test_versions_and_missing_parts(saved, tmp_path):
    _, p = saved["lda"]

    def newer(man, parts):
        man["format_version"] = FORMAT_VERSION + 1

    def other(man, parts):
        man["format"] = "something-else"

    def unknown_type(man, parts):
        man["members"][0]["type"] = "os.system"

    def no_members(man, parts):
        del man["members"]

    _assert_refused(p, tmp_path, newer, ModelVersionError, "version 2")
    _assert_refused(p, tmp_path, other, ModelVersionError, "not an iqa-liveness model")
    _assert_refused(p, tmp_path, unknown_type, ModelVersionError, "unknown estimator type")
    _assert_refused(p, tmp_path, no_members, ModelPartMissingError, "members")
    f = _rewrite(p, tmp_path / "d.ilm", fix_checksums=False, drop=["members/0/scale.npy"])
    with pytest.raises(ModelPartMissingError, match="scale.npy"):
        load_model(f)


def test_shapes_must_match_feature_names(saved, tmp_path):
    _, p = saved["lda"]

    def short_coef(man, parts):
        buf = io.BytesIO()
        np.save(buf, np.zeros(4))
        parts["members/0/coef.npy"] = buf.getvalue()

    def fewer_names(man, parts):
        man["members"][0]["features"] = ["a", "b", "c"]

    def unknown_feature(man, parts):
        man["members"][0]["features"][0] = "zz"

    _assert_refused(p, tmp_path, short_coef, ModelShapeError, "coef_ has shape")
    _assert_refused(p, tmp_path, fewer_names, ModelShapeError, "3 feature names")
    _assert_refused(p, tmp_path, unknown_feature, ModelShapeError, "unknown features")


def test_malformed_manifest_values(saved, tmp_path):
    _, p = saved["lda"]

    def text_threshold(man, parts):
        man["members"][0]["state"]["threshold_"] = "0.5"

    def same_classes(man, parts):
        man["members"][0]["classes"] = [1, 1]

    def bad_param(man, parts):
        man["members"][0]["params"]["evil"] = 1

    for change in (text_threshold, same_classes, bad_param):
        _assert_refused(p, tmp_path, change, ModelCorruptError)
    deep = tmp_path / "deep.ilm"
    with zipfile.ZipFile(deep, "w") as zf:
        zf.writestr("manifest.json", "[" * 100000 + "]" * 100000)
    with pytest.raises(ModelCorruptError, match="not valid JSON"):
        load_model(deep)


def test_malformed_libsvm_text_is_caught_before_libsvm(saved, tmp_path):
    _, p = saved["svm-rbf"]
    key = "members/0/model_text.libsvm"

    def edit(old, new):
        def change(man, parts):
            parts[key] = parts[key].decode().replace(old, new, 1).encode()

        return change

    _assert_refused(p, tmp_path, edit("nr_class 2", "nr_class 3"), ModelCorruptError, "header")

    def drop_last_sv(man, parts):
        parts[key] = b"\n".join(parts[key].rstrip(b"\n").split(b"\n")[:-1]) + b"\n"

    _assert_refused(p, tmp_path, drop_last_sv, ModelCorruptError, "SV lines")
    _assert_refused(p, tmp_path, edit(" 5:", " 9:"), ModelShapeError, "feature indices")


def test_model_consistency_checks():
    X, y, _ = _data()
    lda = ShrinkageLDA().fit(X, y)
    with pytest.raises(ConfigurationError, match="not fitted"):
        LivenessModel.single(ShrinkageLDA(), NAMES)
    with pytest.raises(ConfigurationError, match="features named"):
        LivenessModel({}, NAMES, (Member("x", lda, ("a", "b")),))
    with pytest.raises(ConfigurationError, match="need a fusion"):
        LivenessModel({}, NAMES, (Member("x", lda, NAMES), Member("y", lda, NAMES)))
    m = LivenessModel.single(lda, NAMES)
    with pytest.raises(ConfigurationError, match="shape"):
        m.score_samples(X[:, :3])
