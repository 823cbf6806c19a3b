"""LOFO checkpoints: one writer at a time (a lock that a finished, failed or killed run lets go of), and a
fingerprint that holds the builder's code, so that an edited builder under the same name is refused."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import types

import lofo_builders as lb
import numpy as np
import pytest

from seqimp.lofo import FitError, lofo_importance
from seqimp.lofo.checkpoint import builder_code

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUN = dict(cv=3, random_state=0, progress=False)


@pytest.fixture(scope="module")
def data():
    return lb.abc_data(n=60)


class _GatedOLS(lb.OLS):
    def __init__(self, gate):
        super().__init__()
        self.gate = gate

    def fit(self, X, y, **kwargs):
        self.gate.started.set()
        assert self.gate.release.wait(60), "the test never released the first run"
        return super().fit(X, y, **kwargs)


class _Gate:
    """A builder whose fits wait until the test lets them go."""

    def __init__(self):
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self, n_features):
        return _GatedOLS(self)


def test_a_second_writer_in_another_thread_gets_an_error_naming_the_file(data, tmp_path):
    X, y = data
    path = tmp_path / "ck.jsonl"
    gate, outcome = _Gate(), {}

    def first_run():
        try:
            outcome["result"] = lofo_importance(gate, X, y, checkpoint=path, **RUN)
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        assert gate.started.wait(60)
        second = lb.CountingOLS()
        with pytest.raises(RuntimeError, match=rf"'checkpoint' file '{path}' is being written by another "
                                               rf"run .* holds its lock"):
            lofo_importance(second, X, y, checkpoint=path, **RUN)
        assert second.calls == 0
    finally:
        gate.release.set()
        thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    # The first run finished normally and let go: the same call resumes with nothing left to fit.
    again = lofo_importance(gate, X, y, checkpoint=path, **RUN)
    assert again.extra["n_fitted"] == 0
    np.testing.assert_array_equal(again.importances, outcome["result"].importances)


def test_a_writer_in_another_process_holds_the_file_until_it_is_killed(data, tmp_path):
    X, y = data
    path = tmp_path / "ck.jsonl"
    # Another process opens the checkpoint as a run does (for other arguments), says so, and waits.
    script = textwrap.dedent(f"""
        import time, numpy as np
        from seqimp.lofo.checkpoint import Checkpoint
        held = Checkpoint({str(path)!r}, "lofo_importance", {{}}, ["a"], 1).open(np.random.SeedSequence(0))
        print("writing", flush=True)
        time.sleep(300)
    """)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        with pytest.raises(RuntimeError, match="is being written by another run"):
            lofo_importance(lb.CountingOLS(), X, y, checkpoint=path, **RUN)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    # A killed writer leaves no stale lock; what stops this call now is the file's other fingerprint.
    with pytest.raises(ValueError, match="written by a lofo_importance run with different function, X, y"):
        lofo_importance(lb.CountingOLS(), X, y, checkpoint=path, **RUN)


class _FailingOLS(lb.CountingOLS):
    def __call__(self, n_features):
        if self.calls == 1:
            raise RuntimeError("simulated failure on build 2")
        return super().__call__(n_features)


def test_the_lock_is_released_when_a_run_fails(data, tmp_path):
    X, y = data
    path = tmp_path / "ck.jsonl"
    for _ in range(2):  # the second call gets the fit error again, not "being written by another run"
        with pytest.raises(FitError, match="simulated failure on build 2"):
            lofo_importance(_FailingOLS(), X, y, checkpoint=path, **RUN)
    # A refusal while opening (another run's file) lets go too.
    with pytest.raises(ValueError, match="different"):
        lofo_importance(lb.CountingOLS(), X, y, checkpoint=path, **RUN)
    with pytest.raises(ValueError, match="different"):
        lofo_importance(lb.CountingOLS(), X, y, checkpoint=path, **RUN)


# ---- the builder's code in the fingerprint -------------------------------------------------------

BUILDERS = '''
import lofo_builders as lb

DELAY = 0.0


def helper():
    return lb.OLS(delay=DELAY)


def build(n_features):
    return helper()
'''

EDITS = {
    "the builder's body": ("    return helper()\n", "    model = helper()\n    return model\n"),
    "a helper it calls": ("    return lb.OLS(delay=DELAY)\n", "    return lb.OLS(delay=DELAY + 0.0)\n"),
    "a module constant it reads": ("DELAY = 0.0\n", "DELAY = 0.001\n"),
    "the class it builds": ("    return lb.OLS(delay=DELAY)\n", "    return lb.CountingOLS()(1)\n"),
}


def _builder(source):
    """``build`` from ``source`` as a module named user_builders (the same qualified name every time)."""
    module = types.ModuleType("user_builders")
    exec(compile(source, "user_builders.py", "exec"), module.__dict__)  # noqa: S102 - the test's own code
    return module.build


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_builder_under_the_same_name_is_refused(edit, data, tmp_path):
    X, y = data
    path = tmp_path / "ck.jsonl"
    lofo_importance(_builder(BUILDERS), X, y, checkpoint=path, **RUN)
    content = path.read_bytes()
    old, new = EDITS[edit]
    assert BUILDERS.count(old) == 1
    edited = _builder(BUILDERS.replace(old, new))
    assert edited.__qualname__ == "build" and edited.__module__ == "user_builders"
    with pytest.raises(ValueError, match=r"written by a lofo_importance run with different builder code, so "
                                         r"its scores cannot be reused.*The builder's code differs"):
        lofo_importance(edited, X, y, checkpoint=path, **RUN)
    assert path.read_bytes() == content


def test_an_unchanged_builder_resumes_whatever_its_comments_and_layout(data, tmp_path):
    X, y = data
    path = tmp_path / "ck.jsonl"
    first = lofo_importance(_builder(BUILDERS), X, y, checkpoint=path, **RUN)
    assert first.extra["n_fitted"] == 12
    reformatted = "# builders for the study\n\n\n" + BUILDERS.replace(
        "def build(n_features):\n", "def build(n_features):  # one OLS per fit\n    # no state\n")
    resumed = lofo_importance(_builder(reformatted), X, y, checkpoint=path, **RUN)
    assert resumed.extra["n_fitted"] == 0
    np.testing.assert_array_equal(resumed.importances, first.importances)


def test_closure_values_and_defaults_are_part_of_the_code():
    def make(units):
        def build(n_features, scale=1.0):
            return units * scale
        return build

    assert builder_code(make(8)) == builder_code(make(8))
    assert builder_code(make(8)) != builder_code(make(16))
    with_default = make(8)
    with_default.__defaults__ = (2.0,)
    assert builder_code(with_default) != builder_code(make(8))
    assert builder_code(make(8)).startswith(f"Python {sys.version_info[0]}.{sys.version_info[1]} bytecode ")
    assert builder_code(len) is None  # no Python code to read


def test_the_code_digest_is_the_same_in_every_process():
    # A set literal compiles to a frozenset constant, whose repr's order follows the hash seed.
    script = textwrap.dedent("""
        from seqimp.lofo.checkpoint import builder_code
        def build(n_features):
            return n_features in {"alpha", "beta", "gamma", "delta"}
        print(builder_code(build))
    """)
    digests = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                             check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1 and digests.pop().startswith("Python ")
