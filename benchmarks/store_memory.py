"""Feature store: write shards, merge, read back; time and peak memory. Prints JSON.

Usage: python benchmarks/store_memory.py N_SAMPLES N_FEATURES
(a synthetic store of random float64 features written as 5000-row shards in a temporary
directory, deleted at the end).
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from iqa_liveness.store import ExtractorInfo, merge_shards, read_features, shard_dir, write_shard


def main(n: int, d: int) -> dict:
    tmp = Path(tempfile.mkdtemp())
    try:
        store = tmp / "big.h5"
        info = ExtractorInfo("a", tuple(f"f{j}" for j in range(d)))
        rng = np.random.default_rng(0)
        t = time.perf_counter()
        for k in range(0, n, 5000):
            m = min(5000, n - k)
            ids = [f"{i:07d}" for i in range(k, k + m)]
            cols = {"sample_id": ids, "label": ["bona_fide"] * m,
                    "source": [f"/data/x/{i}.jpg" for i in ids], "frame_index": [None] * m}
            write_shard(shard_dir(store), f"s{k:08d}", samples=cols,
                        features={"a": rng.random((m, d))}, extractors=[info])
        t_write = time.perf_counter() - t
        t = time.perf_counter()
        merge_shards(store)
        t_merge = time.perf_counter() - t
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        fs = read_features(store)
        t_read = time.perf_counter() - t
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {
            "n_samples": n, "n_features": d,
            "X_MiB": round(fs.X.nbytes / 2**20, 1),
            "file_MiB": round(store.stat().st_size / 2**20, 1),
            "write_shards_s": round(t_write, 1), "merge_s": round(t_merge, 1),
            "read_s": round(t_read, 1),
            "peak_rss_before_read_MiB": round(rss_before, 1),
            "peak_rss_after_read_MiB": round(rss_after, 1),
        }
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
