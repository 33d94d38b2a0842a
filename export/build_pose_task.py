"""Build ``rhythmicnet_live/assets/pose_landmarker_full.task`` from the mediapipe 0.10.14 wheel.

MediaPipe 0.10.30+ (1.2.x, which the runtime uses) ships only the Tasks API and no model file. The
0.10.14 wheel still carries the Apache-2.0 BlazePose GHUM models:

    mediapipe/modules/pose_detection/pose_detection.tflite     -> pose_detector.tflite
    mediapipe/modules/pose_landmark/pose_landmark_full.tflite  -> pose_landmarks_detector.tflite

A ``.task`` bundle is a zip of those two files, each carrying TFLite metadata that tells the Tasks
runtime how to normalise the input image: detector to [-1, 1] (mean 127.5, std 127.5), landmarker to
[0, 1] (mean 0, std 255). The metadata is written with
``mediapipe.tasks.python.metadata.metadata_writers`` of 0.10.14, which does not import under 1.2.x,
so the build runs in a throwaway virtual environment.

Usage (from the repository root, with any Python 3.11):

    python export/build_pose_task.py                 # creates/reuses the venv /tmp/mp014, builds, verifies
    python export/build_pose_task.py --venv DIR      # another venv location

The script creates the venv itself when needed (``pip install --no-deps mediapipe==0.10.14`` plus
absl-py, attrs, flatbuffers, matplotlib, protobuf<5, numpy<2, opencv-python-headless: mediapipe
0.10.14's ``__init__`` imports cv2), re-runs itself with the venv's Python to write the bundle, the
license and PROVENANCE.md, then (back in the calling Python, if it has mediapipe 1.2.x) checks that the
Tasks ``PoseLandmarker`` loads the bundle. The zip is written uncompressed, 64-byte aligned (zero-copy
mmap), with fixed timestamps, so
rebuilding gives the same sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "rhythmicnet_live" / "assets"
TASK_NAME = "pose_landmarker_full.task"
MP_VERSION = "0.10.14"
VENV_PACKAGES = [
    "absl-py==2.5.1", "attrs==26.1.0", "flatbuffers==25.12.19", "matplotlib==3.11.2", "protobuf==4.25.9",
    "numpy==1.26.4", "opencv-python-headless==4.10.0.84",
]
#: (file inside the wheel, name inside the bundle, normalisation mean, std, description)
MODELS = [
    ("mediapipe/modules/pose_detection/pose_detection.tflite", "pose_detector.tflite", 127.5, 127.5,
     "BlazePose person detector (224x224 RGB in [-1, 1])"),
    ("mediapipe/modules/pose_landmark/pose_landmark_full.tflite", "pose_landmarks_detector.tflite", 0.0, 255.0,
     "BlazePose GHUM 3D landmarks, full (256x256 RGB in [0, 1])"),
]
ALIGN = 64  # byte alignment of each model inside the zip
ZIP_DATE = (2024, 5, 8, 0, 0, 0)  # the 0.10.14 release date: fixed, so the bundle is reproducible


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def aligned_extra(header_offset: int, name: str) -> bytes:
    """A zip extra field that puts the entry's data at a multiple of ``ALIGN`` bytes (like zipalign).

    The Tasks runtime memory-maps models straight out of the bundle; unaligned data makes it copy them.
    """
    data_start = header_offset + 30 + len(name.encode()) + 4  # local header, name, extra field header
    pad = -data_start % ALIGN
    return struct.pack("<HH", 0xD935, pad) + bytes(pad)


def ensure_venv(venv: Path) -> Path:
    """Create ``venv`` with mediapipe 0.10.14 and its metadata-writer dependencies; return its python."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import mediapipe, sys; from mediapipe.tasks.python.metadata.metadata_writers "
             "import metadata_writer; sys.exit(mediapipe.__version__ != '%s')" % MP_VERSION]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run(pip + ["--no-deps", f"mediapipe=={MP_VERSION}"], check=True)
    subprocess.run(pip + VENV_PACKAGES, check=True)
    subprocess.run(probe, check=True)
    return python


def build(out_dir: Path) -> None:
    """Write the bundle, LICENSE_mediapipe_models.txt and PROVENANCE.md (runs inside the 0.10.14 venv)."""
    import mediapipe
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    assert mediapipe.__version__ == MP_VERSION, mediapipe.__version__
    site = Path(mediapipe.__file__).resolve().parent.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    task = out_dir / TASK_NAME
    rows = []
    with zipfile.ZipFile(task, "w", compression=zipfile.ZIP_STORED) as bundle:
        for src, name, mean, std, description in MODELS:
            raw = (site / src).read_bytes()
            writer = metadata_writer.MetadataWriter.create(bytearray(raw))
            writer.add_general_info(name.removesuffix(".tflite"), description)
            writer.add_image_input(norm_mean=[mean], norm_std=[std])
            content, _ = writer.populate()
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.extra = aligned_extra(bundle.fp.tell(), name)
            bundle.writestr(info, bytes(content))
            rows.append((src, sha256(raw), name, sha256(bytes(content)), mean, std))
    dist_info = site / f"mediapipe-{MP_VERSION}.dist-info"
    (out_dir / "LICENSE_mediapipe_models.txt").write_text(
        f"The files inside {TASK_NAME} are the BlazePose models shipped in the mediapipe {MP_VERSION} wheel\n"
        f"(https://pypi.org/project/mediapipe/{MP_VERSION}/, Copyright Google LLC), under this license\n"
        f"(copied from mediapipe-{MP_VERSION}.dist-info/LICENSE). Modification: TFLite image-normalisation\n"
        "metadata was added to each model (see PROVENANCE.md).\n\n" + (dist_info / "LICENSE").read_text())
    table = "\n".join(f"| `{s}` | `{hs}` | `{n}` | `{hn}` | {m} | {d} |" for s, hs, n, hn, m, d in rows)
    (out_dir / "PROVENANCE.md").write_text(f"""# Provenance of `{TASK_NAME}`

MediaPipe Tasks pose landmarker bundle (BlazePose GHUM, "full" landmark model), built by
`export/build_pose_task.py` from the Apache-2.0 models inside the `mediapipe=={MP_VERSION}` wheel
(license: `LICENSE_mediapipe_models.txt`). Releases 0.10.30+ ship no model file, and nothing is
downloaded at run time, so the bundle is committed here.

Build: `python export/build_pose_task.py` (creates a throwaway venv with `pip install --no-deps
mediapipe=={MP_VERSION}` + {", ".join(VENV_PACKAGES)}; writes the metadata with
`mediapipe.tasks.python.metadata.metadata_writers.metadata_writer.MetadataWriter`
(`add_general_info`, `add_image_input(norm_mean, norm_std)`, RGB); zips both models uncompressed, 64-byte aligned, with
fixed timestamps, so rebuilds are byte-identical).

| source in wheel | source sha256 | name in bundle | sha256 with metadata | norm mean | norm std |
|---|---|---|---|---|---|
{table}

Bundle `{TASK_NAME}` sha256: `{sha256(task.read_bytes())}`

Runs in mediapipe 1.2.2 with `mediapipe.tasks.python.vision.PoseLandmarker` (checked by the build
script and by `tests/test_pose.py`).
""")
    print(f"wrote {task} ({task.stat().st_size} bytes, sha256 {sha256(task.read_bytes())})")


def verify(task: Path) -> None:
    """Load the bundle with the calling interpreter's mediapipe Tasks PoseLandmarker and run it once."""
    import numpy as np
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(task)),
                                           running_mode=vision.RunningMode.IMAGE, num_poses=1)
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((360, 640, 3), np.uint8)))
    print(f"mediapipe {mp.__version__}: PoseLandmarker loaded {task.name}; black test image -> "
          f"{len(result.pose_landmarks)} poses (expected 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=Path("/tmp/mp014"), help="throwaway venv for mediapipe 0.10.14")
    parser.add_argument("--out", type=Path, default=ASSETS, help="output folder (default: rhythmicnet_live/assets)")
    parser.add_argument("--inside-venv", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside_venv:
        build(args.out)
        return
    python = ensure_venv(args.venv)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([str(python), __file__, "--inside-venv", "--out", str(args.out)], check=True, env=env)
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        print("mediapipe is not installed in this Python: skipping the load check")
        return
    verify(args.out / TASK_NAME)


if __name__ == "__main__":
    main()
