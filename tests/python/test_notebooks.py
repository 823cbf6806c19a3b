"""The example notebooks run top to bottom, in the kernels make setup installs.

``python tests/python/test_notebooks.py --write [NAME.ipynb ...]`` (``make notebooks``) re-runs them
and stores their outputs in examples/.
"""

import os
import re
import sys
from pathlib import Path

import pytest
from conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

# notebook -> (kernel, images it must draw, text its outputs must hold)
NOTEBOOKS = {
    "keras_lstm_importance.ipynb": ("python3", 2, ["held-out R^2", "seqimp_importance"]),
    "r_model_from_python.ipynb": ("python3", 1, ["closed form 2 b^2 Var(x)", "high-ozone days"]),
    "seqimp_from_r.ipynb": ("ir", 2, ["<seqimp_importance> permutation importance", "held-out R^2"]),
}

# Checks run in a notebook's own kernel after its last cell; each prints its phrase only if it passes.
CHECKS = {
    # For least squares with an intercept, the expected MSE increase over random permutations of x is
    # exactly 2 b² Var(x) (population variance): the cross term with the residuals vanishes by the
    # normal equations. The notebook's estimate averages 30 permutations; every feature must lie within
    # 4 standard errors (std over the permutations / sqrt(29)) of the closed form.
    "r_model_from_python.ipynb": (
        "_z = ((table['importance'] - table['closed form 2 b^2 Var(x)']).abs()\n"
        "      / (table['std'] / np.sqrt(29))).max()\n"
        "assert _z < 4, f'permutation importance is {_z:.1f} standard errors from 2 b^2 Var(x)'\n"
        "print(f'CLOSED FORM CHECK: within {_z:.2f} standard errors')\n",
        "CLOSED FORM CHECK: within"),
}

# Start-up chatter of TensorFlow's C++ logging (written before TF_CPP_MIN_LOG_LEVEL applies) and an
# R warning about an empty site library on Debian: machine-specific, stripped from stored outputs.
_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\).*|[IWE]\d{4} .*"
                    r"(cuda|cuInit|GPU|oneDNN).*)$")
_R_EMPTY_LIBRARY = "contains no packages"


def kernel_env():
    """The environment the kernels run in: the venv's Python, the project's R library."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("RETICULATE_PYTHON", sys.executable)
    if (ROOT / ".Rlib").is_dir():
        env.setdefault("R_LIBS", str(ROOT / ".Rlib"))
    return env


def kernel_available(name):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return False
    return True


def execute(path, *, extra_cell=None, timeout=600):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    if extra_cell is not None:
        nb.cells.append(nbformat.v4.new_code_cell(extra_cell))
    client = NotebookClient(nb, timeout=timeout, coalesce_streams=True, allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=kernel_env())
    return nb


def strip_noise(nb):
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                lines = [ln for ln in out.text.splitlines(keepends=True) if not _NOISE.match(ln.strip())]
                out.text = "".join(lines)
                if not out.text.strip():
                    continue
            elif _R_EMPTY_LIBRARY in out.get("data", {}).get("text/plain", ""):
                continue
            kept.append(out)
        cell.outputs = kept
    return nb


def outputs(nb):
    """(number of images, all text) of a notebook's outputs."""
    images, text = 0, []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                text.append(out.text)
            elif out.output_type in ("display_data", "execute_result"):
                images += "image/png" in out.data
                text.append(out.data.get("text/plain", ""))
    return images, "\n".join(text)


@pytest.fixture(autouse=True)
def _prefer_the_venvs_kernels(monkeypatch):
    # The venv's kernelspecs (make setup) win over any in the user's ~/.local/share/jupyter.
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "1")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_notebook_runs_top_to_bottom(name):
    kernel, n_images, phrases = NOTEBOOKS[name]
    if not kernel_available(kernel):
        skip_or_fail(f"Jupyter kernel {kernel!r} is not installed (make setup installs it)")
    # A last cell reports which Python the kernel (or reticulate, from R) runs.
    probe = ("import sys; print('PREFIX=' + sys.prefix)" if kernel == "python3"
             else 'cat(paste0("PREFIX=", reticulate::import("sys")$prefix), "\\n")')
    check, check_phrase = CHECKS.get(name, ("", None))
    nb = execute(EXAMPLES / name, extra_cell=check + probe)
    images, text = outputs(nb)
    assert f"PREFIX={sys.prefix}" in text  # the venv's Python, not whichever python3 is on PATH
    assert images == n_images
    for phrase in phrases:
        assert phrase in text
    if check_phrase is not None:
        assert check_phrase in text


def main(argv):
    if "--write" not in argv:
        print(__doc__)
        return 2
    import nbformat

    os.environ["JUPYTER_PREFER_ENV_PATH"] = "1"
    names = [a for a in argv if a != "--write"] or list(NOTEBOOKS)
    for name in names:
        path = EXAMPLES / name
        nb = strip_noise(execute(path))
        nbformat.write(nb, path)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
