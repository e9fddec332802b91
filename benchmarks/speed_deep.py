"""Speed of a deep (ONNX) liveness test through cv2.dnn: milliseconds per model per face.

    python benchmarks/speed_deep.py --onnx minifasnet@../shared/models/minifasnet [--json OUT]

One OpenCV thread (``cv2.setNumThreads(1)``): the figure is per core. For each network of the
sidecar: the median time of ``forward`` on one pre-processed face (``forward``), and of the
whole per-face path (crop, resize, tensor, forward, softmax; ``per_face_per_model``), over
``--repeats`` runs after warm-up (wall clock and CPU time of the process), on a 640x480
frame with a face box. Prints JSON. The target of issue 9 is at most 6 ms per model per face.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import cv2
import numpy as np

from iqa_liveness.deep import OnnxLivenessTest


def median_ms(fn, repeats: int) -> dict[str, float]:
    """Median wall-clock and CPU (process) milliseconds of ``fn``. On a busy machine the wall
    time includes waiting for a core; the CPU time of one thread does not."""
    for _ in range(5):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - t)
    return {"wall_ms": round(1000 * float(np.median(wall)), 3),
            "cpu_ms": round(1000 * float(np.median(cpu)), 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--onnx", required=True, help="PRESET@DIR or sidecar.json")
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--json")
    args = p.parse_args()
    cv2.setNumThreads(1)
    test = OnnxLivenessTest(args.onnx)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    box = (250.0, 150.0, 140.0, 170.0)
    patches = test.patches(frame, box)
    out: dict[str, object] = {"test": test.spec.name, "models": {}}
    for net, spec, patch in zip(test.nets, test.spec.models, patches):
        tensor = test.tensor(patch)

        def forward(net=net, tensor=tensor) -> None:
            net.setInput(tensor)
            net.forward()

        out["models"][spec.path.name] = {"forward": median_ms(forward, args.repeats)}  # type: ignore[index]
    whole = median_ms(lambda: test.score_face(frame, box), args.repeats)
    out["per_face_all_models"] = whole
    out["per_face_per_model"] = {k: round(v / len(test.nets), 3) for k, v in whole.items()}
    out["opencv"] = cv2.__version__
    out["threads"] = 1
    out["machine"] = platform.processor() or platform.machine()
    out["load_average"] = [round(v, 2) for v in os.getloadavg()]
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
