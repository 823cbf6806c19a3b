"""``python -m seqimp.demo`` without TensorFlow says what to install (the demo itself runs in make demo)."""

import subprocess
import sys

# Runs the demo in a child Python where `import keras` fails, as it does in a venv without TensorFlow.
_NO_KERAS = "import sys, runpy; sys.modules['keras'] = None; sys.argv = ['seqimp.demo']; " \
            "sys.exit(runpy.run_module('seqimp.demo', run_name='__main__'))"


def test_demo_without_keras_says_what_to_install(tmp_path):
    proc = subprocess.run([sys.executable, "-c", _NO_KERAS], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "pip install 'seqimp[tensorflow]'" in proc.stderr
    assert "Keras could not be imported here (import of keras halted; None in sys.modules)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "demo-output").exists()
