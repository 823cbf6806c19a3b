"""A release as a user gets it: ``make dist``'s three files, installed away from this checkout.

The release is built once (``.ci/build_dist.py``, what ``make dist`` runs) into a scratch folder. Then:
the wheel goes into a fresh virtualenv without TensorFlow and runs a callable-model example from
another folder; the R tarball goes into a fresh R library and answers ``citation("seqimp")``; and that
R package's ``install_seqimp()`` installs the same wheel into a second fresh virtualenv, which R then
uses. Dependencies (NumPy, pandas, scikit-learn, ...) come from the package index; seqimp itself only
from the local files.
"""

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import seqimp

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VERSION = seqimp.__version__
WHEEL = f"seqimp-{VERSION}-py3-none-any.whl"
SDIST = f"seqimp-{VERSION}.tar.gz"
R_TARBALL = f"seqimp_{VERSION}.tar.gz"

# Written into the source tree by an in-place build; the release build must leave none of them.
IN_TREE_BUILD_OUTPUTS = ["build", "dist", "python/seqimp.egg-info", "seqimp.Rcheck"]


def _git_status():
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def _clean_env(**extra):
    """The environment of a user's shell: none of this checkout's Python, R library or virtualenv."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "RETICULATE_PYTHON", "R_LIBS", "R_LIBS_USER",
                        "PYTHONHOME"}}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(Path(sys.executable).parent)))
    env.update(extra)
    return env


def _run(command, cwd, env, timeout=900):
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{command} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    if shutil.which("R") is None:
        pytest.fail("R is needed to build the R tarball (make setup installs it)")
    before = {name: (ROOT / name).exists() for name in IN_TREE_BUILD_OUTPUTS}
    status = _git_status()
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, str(ROOT / ".ci" / "build_dist.py"), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, (proc.stdout[-4000:], proc.stderr[-4000:])
    assert {name: (ROOT / name).exists() for name in IN_TREE_BUILD_OUTPUTS} == before
    assert _git_status() == status, "building the release changed the source tree"
    return out


def test_make_dist_writes_a_wheel_an_sdist_and_an_r_tarball(release):
    assert sorted(p.name for p in release.iterdir()) == sorted([WHEEL, SDIST, R_TARBALL])


def test_the_wheel_carries_the_package_its_r_bridge_and_the_full_licence(release):
    with zipfile.ZipFile(release / WHEEL) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"seqimp-{VERSION}.dist-info/METADATA").decode()
        licence = wheel.read(f"seqimp-{VERSION}.dist-info/licenses/LICENSE.md").decode()
    assert {"seqimp/__init__.py", "seqimp/demo.py", "seqimp/adapters/r_bridge.R"} <= names
    assert not any(name.startswith("tests/") for name in names)
    assert "Permission is hereby granted, free of charge" in licence
    assert f"Version: {VERSION}\n" in metadata and "License-Expression: MIT\n" in metadata
    assert "Project-URL: Documentation, " in metadata and "Project-URL: Issues, " in metadata
    assert re.search(r"^Classifier: Programming Language :: Python :: 3$", metadata, flags=re.M)


def test_the_sdist_carries_the_tests(release):
    with tarfile.open(release / SDIST) as sdist:
        names = set(sdist.getnames())
    prefix = f"seqimp-{VERSION}/"
    assert {prefix + "tests/python/test_version.py", prefix + "tests/python/conftest.py",
            prefix + "LICENSE.md", prefix + "pyproject.toml", prefix + "constraints.txt"} <= names
    assert not any("__pycache__" in name for name in names)


_CALLABLE_EXAMPLE = """
import numpy as np, seqimp
X = np.random.default_rng(0).random((2000, 10, 3))          # (samples, timesteps, features)
def model(x):
    return x[:, :, 0].sum(axis=1) + 0.5 * x[:, :, 1].sum(axis=1)
r = seqimp.permutation_importance(model, X, model(X), metric="mse", n_repeats=5, random_state=0)
print(seqimp.__version__)
print(seqimp.__file__)
print(" ".join(repr(float(v)) for v in r.importances_mean))
"""


def test_the_wheel_installs_into_a_fresh_venv_without_tensorflow_and_runs(release, tmp_path):
    venv = tmp_path / "venv"
    env = _clean_env()
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    python = str(venv / "bin" / "python")
    _run([python, "-m", "pip", "install", "-q", str(release / WHEEL)], tmp_path, env)
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "example.py").write_text(_CALLABLE_EXAMPLE)
    lines = _run([python, "example.py"], work, env).strip().splitlines()
    assert lines[0] == VERSION
    assert lines[1].startswith(str(venv)), lines[1]  # the installed copy, not this checkout
    mse = [float(v) for v in lines[2].split()]
    # Permuting feature j of this linear model raises the MSE by 2 T w_j^2 Var(x) = 20 w_j^2 / 12.
    assert mse[0] == pytest.approx(20 / 12, rel=0.1) and mse[1] == pytest.approx(5 / 12, rel=0.1)
    assert mse[2] == 0.0
    probe = _run([python, "-c", "import importlib.util as u; print(u.find_spec('tensorflow'), "
                  "u.find_spec('keras'))"], work, env)
    assert probe.split() == ["None", "None"]
    demo = subprocess.run([python, "-m", "seqimp.demo"], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)
    assert demo.returncode == 2 and "pip install 'seqimp[tensorflow]'" in demo.stderr, demo.stderr


_R_EXAMPLE = """
library(seqimp)
stopifnot(seqimp_available())
set.seed(1)
x <- array(runif(500 * 4 * 2), c(500, 4, 2), dimnames = list(NULL, NULL, c("used", "unused")))
model <- function(x) rowSums(x[, , "used"])
r <- permutation_importance(model, x, model(x), metric = "mse", seed = 1)
cat(sprintf("importance %s=%.17g\\n", r$feature, r$importance), sep = "")
cat("core", reticulate::import("seqimp")$`__version__`, "\\n")
"""


def test_the_r_tarball_installs_into_a_fresh_library_and_installs_its_core(release, tmp_path):
    library = tmp_path / "rlib"
    library.mkdir()
    env = _clean_env(R_LIBS=str(library))
    _run(["R", "CMD", "INSTALL", f"--library={library}", str(release / R_TARBALL)], tmp_path, env)
    cited = " ".join(_run(["Rscript", "-e", 'print(citation("seqimp"), style = "text")'], tmp_path, env).split())
    assert f"R package and Python library version {VERSION}" in cited
    assert "Olden JD, Joy MK, Death RG (2004)" in cited and "Sundararajan M, Taly A, Yan Q (2017)" in cited
    # install_seqimp() from the release's wheel, into a virtualenv that does not exist yet.
    venv = tmp_path / "r-venv"
    install = (f'python <- seqimp::install_seqimp("{release / WHEEL}", envname = "{venv}", '
               f'extras = character(), python = "{sys.executable}"); cat("python", python, "\\n")')
    said = _run(["Rscript", "-e", install], tmp_path, env)
    assert f"python {venv / 'bin' / 'python'}" in said
    (tmp_path / "example.R").write_text(_R_EXAMPLE)
    out = _run(["Rscript", "example.R"], tmp_path, dict(env, RETICULATE_PYTHON=str(venv / "bin" / "python")))
    assert f"core {VERSION}" in out
    assert "importance unused=0\n" in out
    used = float(re.search(r"importance used=(\S+)", out).group(1))
    assert used == pytest.approx(2 * 4 / 12, rel=0.15)  # 2 T Var(x) for T = 4, x ~ U(0, 1)
