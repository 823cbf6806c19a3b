"""Build a seqimp release into one folder (``make dist`` runs ``python .ci/build_dist.py --out dist``).

Writes three files:

- ``seqimp-<version>-py3-none-any.whl``: the Python package;
- ``seqimp-<version>.tar.gz``: the Python sdist, with the tests (MANIFEST.in), from which the wheel is
  built (so the sdist is known to be complete);
- ``seqimp_<version>.tar.gz``: the R source package (``R CMD build``: vignettes knitted, no manual).

Everything is built from a copy of the source tree's files (tracked ones and new ones git does not
ignore), so nothing is written into the checkout: no ``build/``, no egg-info, no ``.Rcheck``. The
Python build runs ``python -m build`` (an isolated build environment with the setuptools that
pyproject.toml asks for); the R build needs the Python core and Keras for the vignette, found as the
tests find them (``RETICULATE_PYTHON``).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def source_files(root=ROOT):
    """The checkout's files as git sees them: tracked (and not deleted) plus untracked, not ignored."""
    try:
        listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                 cwd=root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"build_dist: {root} must be a git checkout (git ls-files failed: {error})")
    names = sorted({name for name in listing.decode().split("\0") if name})
    return [name for name in names if os.path.isfile(os.path.join(root, name))]


def stage(target, root=ROOT):
    """Copy the source files into ``target`` (a fresh folder) and return it."""
    for name in source_files(root):
        destination = os.path.join(target, name)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copy2(os.path.join(root, name), destination)
    return target


def version(root=ROOT):
    text = open(os.path.join(root, "python", "seqimp", "__init__.py"), encoding="utf-8").read()
    return re.search(r'^__version__ = "([^"]+)"', text, flags=re.M).group(1)


def _run(command, cwd, what):
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"build_dist: {what} failed (exit status {proc.returncode}):\n"
                         f"{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}")
    return proc


def build_python(staged, out):
    """sdist, then the wheel from the sdist, into ``out``."""
    _run([sys.executable, "-m", "build", "--outdir", out, staged], staged, "python -m build")


def build_r(staged, out):
    """``R CMD build`` of the staged copy (its .Rbuildignore drops the Python side), into ``out``."""
    workdir = tempfile.mkdtemp(prefix="seqimp-rbuild-")
    try:
        _run(["R", "CMD", "build", "--no-manual", staged], workdir, "R CMD build")
        (tarball,) = glob.glob(os.path.join(workdir, "seqimp_*.tar.gz"))
        shutil.move(tarball, os.path.join(out, os.path.basename(tarball)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def expected_files(release):
    return [f"seqimp-{release}-py3-none-any.whl", f"seqimp-{release}.tar.gz", f"seqimp_{release}.tar.gz"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "dist"), help="folder for the release files")
    args = parser.parse_args(argv)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    release = version()
    for name in expected_files(release):  # a rebuild replaces this version's files, and only them
        if os.path.exists(os.path.join(out, name)):
            os.remove(os.path.join(out, name))
    with tempfile.TemporaryDirectory(prefix="seqimp-dist-") as tmp:
        staged = stage(os.path.join(tmp, "seqimp"))
        build_python(staged, out)
        build_r(staged, out)
    missing = [name for name in expected_files(release) if not os.path.isfile(os.path.join(out, name))]
    if missing:
        raise SystemExit(f"build_dist: the build did not write {', '.join(missing)} into {out}")
    for name in expected_files(release):
        size = os.path.getsize(os.path.join(out, name))
        print(f"{os.path.join(out, name)}  ({size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
