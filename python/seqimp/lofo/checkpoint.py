"""The checkpoint file of a retraining run, and the fingerprint that ties it to its data and arguments.

The file is JSON lines: a header (format, version, the function, the seed, the labels, the number of
folds and the run's fingerprint), then one line per finished fit, flushed to disk as soon as its
score is known. A run resumes only from a file whose fingerprint equals its own.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os

import numpy as np

FORMAT = "seqimp-retrain-checkpoint"
VERSION = 1


def digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(f"ndarray{part.dtype.str}{part.shape}".encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()[:20]


def qualname(obj):
    target = obj if isinstance(obj, type) or hasattr(obj, "__qualname__") else type(obj)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', type(obj).__name__)}"


def stable(value):
    """A representation that is the same in every process for equal arguments (no ids, no addresses)."""
    if value is None or isinstance(value, (bool, str, numbers.Number)):
        return repr(value)
    if isinstance(value, np.ndarray):
        return f"array:{digest(value)}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{stable(k)}: {stable(v)}" for k, v in sorted(value.items(), key=str)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(stable(v) for v in value) + "]"
    if hasattr(value, "func") and hasattr(value, "args") and hasattr(value, "keywords"):  # partial
        return f"partial({qualname(value.func)}, {stable(value.args)}, {stable(value.keywords)})"
    config = None
    if hasattr(value, "get_config"):
        try:
            config = value.get_config()
        except Exception:  # noqa: BLE001
            config = None
    return qualname(value) + ("" if config is None else stable(config))


def fingerprint(setup, model_id):
    """What a checkpoint must have been written with to be resumed by the run of ``setup``.

    Each entry is a short digest, so that the header names what differs without holding the data.
    """
    root = setup.root
    return {
        "function": setup.func,
        "X": digest(setup.data.X, setup.data.input_ndim),
        "y": digest(setup.y),
        "feature names and groups": digest(setup.data.feature_names,
                                           [(lb.name, lb.features.tolist()) for lb in setup.labels]),
        "cv folds": digest(*[a for pair in setup.folds for a in pair]),
        "random_state": digest(root.entropy, tuple(root.spawn_key)),
        "metric": digest(setup.metric.name, setup.metric.greater_is_better, qualname(setup.metric.func)),
        "mode": setup.mode,
        "fit_kwargs": digest(stable(setup.fit_kwargs)),
        "model": digest(model_id),
    }


class Checkpoint:
    """Append-only JSON lines: a header with the run's fingerprint, then one line per finished fit."""

    def __init__(self, path, func, fingerprint, label_names, n_folds):
        self.path = path
        self.func = func
        self.fingerprint = fingerprint
        self.label_names = list(label_names)
        self.n_folds = n_folds
        self.done = {}
        self._file = None

    @staticmethod
    def stored_seed(path):
        """The seed a checkpoint was written with (to resume a run that had ``random_state=None``)."""
        header = Checkpoint._read(path)[0]
        if header is None:
            return None
        seed = header.get("seed") or {}
        return np.random.SeedSequence(seed.get("entropy"), spawn_key=tuple(seed.get("spawn_key", ())))

    @staticmethod
    def _read(path):
        """(header or None, records, byte length of the complete lines)."""
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            return None, [], 0
        with open(path, "rb") as fh:
            raw = fh.read()
        lines = raw.split(b"\n")
        complete = lines[:-1]  # what follows the last newline is a line torn by a killed process
        good_bytes = sum(len(line) + 1 for line in complete)
        try:
            header = json.loads(complete[0]) if complete else json.loads(lines[0])
        except (ValueError, UnicodeDecodeError):
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"The 'checkpoint' file {path!r} exists but is not a seqimp checkpoint. "
                             f"Pass a path to a new file or to a checkpoint written by seqimp; the file "
                             f"was left untouched.")
        records = []
        for number, line in enumerate(complete[1:], start=2):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                raise ValueError(f"The 'checkpoint' file {path!r} is damaged at line {number}. Delete it "
                                 f"to start over.") from None
        return header, records, good_bytes

    def open(self, seed):
        header, records, good_bytes = self._read(self.path)
        if header is None:
            header = {"format": FORMAT, "version": VERSION, "func": self.func,
                      "seed": {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)},
                      "labels": self.label_names, "n_folds": self.n_folds,
                      "fingerprint": self.fingerprint}
            self._file = open(self.path, "w", encoding="utf-8")
            self._write(header)
            return self
        if header.get("version") != VERSION:
            raise ValueError(f"The 'checkpoint' file {self.path!r} was written by another version of "
                             f"seqimp (format {header.get('version')}). Pass a new path.")
        stored = header.get("fingerprint", {})
        differ = [name for name in self.fingerprint if stored.get(name) != self.fingerprint[name]]
        if differ:
            raise ValueError(
                f"The 'checkpoint' file {self.path!r} was written by a {header.get('func')} run with "
                f"different {', '.join(differ)}, so its scores cannot be reused for this call. Pass a "
                f"new checkpoint path, or delete the file to start over. The file was left untouched.")
        n_labels = len(self.label_names)
        for record in records:
            active, fold, score = record.get("active"), record.get("fold"), record.get("score")
            if not (isinstance(active, list) and all(isinstance(a, int) and 0 <= a < n_labels for a in active)
                    and isinstance(fold, int) and 0 <= fold < self.n_folds
                    and isinstance(score, (int, float))):
                raise ValueError(f"The 'checkpoint' file {self.path!r} holds an invalid record {record!r}. "
                                 f"Delete it to start over.")
            self.done[(tuple(active), fold)] = float(score)
        if good_bytes < os.path.getsize(self.path):
            with open(self.path, "r+b") as fh:  # drop the torn tail so the next line starts cleanly
                fh.truncate(good_bytes)
        self._file = open(self.path, "a", encoding="utf-8")
        return self

    def _write(self, obj):
        self._file.write(json.dumps(obj) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, task, score, seconds):
        self.done[(task.active, task.fold)] = score
        self._write({"active": list(task.active), "fold": task.fold, "score": score,
                     "seconds": round(seconds, 3)})

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
