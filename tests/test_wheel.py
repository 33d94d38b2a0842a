"""A plain (non-editable) install of the built wheel carries the trained models: ``take`` and ``beats`` run from
another folder, in a fresh virtual environment outside the checkout, and use the shipped beat model."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "tests" / "fixtures" / "jump_8s_480x270.mp4"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of a fresh venv with only the wheel installed, a work folder outside the checkout)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"  # what the build reads, copied: no stale build/ folder of the checkout can leak in
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("rhythmicnet_live", "models_onnx"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(source)],
                   check=True, capture_output=True, timeout=600, cwd=root)
    wheel = next(dist.glob("rhythmicnet_live-*.whl"))
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # The dependencies come from this environment's site-packages (appended after the venv's own, so the wheel's
    # rhythmicnet_live wins and the checkout's editable install is never seen); the wheel is unpacked with pip.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    work = root / "work"
    work.mkdir()
    shutil.copy(CLIP, work / CLIP.name)
    return python, work


def run(python: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RHYTHMICNET_MODELS")}
    return subprocess.run([str(python), "-m", "rhythmicnet_live.cli", *args], cwd=work, env=env,
                          capture_output=True, text=True, timeout=900)


def test_the_wheel_holds_the_package_models_and_pose_bundle(installed):
    python, work = installed
    probe = subprocess.run([str(python), "-c", "import rhythmicnet_live, rhythmicnet_live.models as m, "
                            "rhythmicnet_live.input.pose as p; print(rhythmicnet_live.__file__); print(m.MODELS_DIR); "
                            "print(sorted(m.read_manifest()['models'])); print(p.POSE_TASK.is_file())"],
                           cwd=work, capture_output=True, text=True, check=True)
    package, models_dir, names, pose_ok = probe.stdout.splitlines()
    assert str(REPO) not in package and str(REPO) not in models_dir
    assert "beat_model" in names and "drums_encoder" in names and "piano_encoder" in names
    assert pose_ok == "True"


def test_beats_and_take_from_another_folder_use_the_trained_models(installed):
    python, work = installed
    result = run(python, work, "beats", CLIP.name, "-o", "beats")
    assert result.returncode == 0, result.stderr
    assert json.loads((work / "beats" / "beats.json").read_text())["activation_model"] == "beat_model"
    result = run(python, work, "take", CLIP.name, "-o", "take", "--drums-only")
    assert result.returncode == 0, result.stderr
    assert all((work / "take" / name).stat().st_size > 0 for name in ("take.mid", "take.wav", "take.mp4", "take.png"))
