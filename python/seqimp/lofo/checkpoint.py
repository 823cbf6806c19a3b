"""The checkpoint file of a retraining run, and the fingerprint that ties it to its data and arguments.

The file is JSON lines: a header (format, version, the function, the seed, the labels, the number of
folds and the run's fingerprint), then one line per finished fit, flushed to disk as soon as its
score is known. A run resumes only from a file whose fingerprint equals its own; a builder's
fingerprint includes a digest of its code. A run holds an exclusive lock on the file while it writes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import numbers
import os
import sys
import types

import numpy as np

from ..errors import SeqimpRuntimeError, SeqimpValueError, Value

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


def builder_code(builder):
    """A digest of a builder's code, tagged with the Python version whose bytecode it reads; None when
    there is no Python code to read (a built-in; an R function reaches here as reticulate's wrapper).

    It covers the bytecode, the constants and the names the builder reads (so ``layers.LSTM`` ->
    ``layers.GRU`` or ``units=8`` -> ``16`` count), its defaults and closure values, the functions and
    lambdas nested in it, and, recursively, the functions and classes of the builder's own module that it
    reaches by name (a helper it calls, a custom layer, the class of a callable builder object). Library
    code is not followed. Bytecode rather than source text: comments, blank lines and where the function
    sits in its file do not matter, and functions without a source file (a REPL, ``exec``) have one too.
    """
    parts = []
    _code_parts(builder, getattr(builder, "__module__", None), parts, set())
    if not parts:
        return None
    return f"Python {sys.version_info[0]}.{sys.version_info[1]} bytecode {digest(*parts)}"


def _code_parts(obj, module, parts, seen):
    """Append to ``parts`` what identifies the code of ``obj`` (a function, partial, class or instance)."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, functools.partial):
        parts.append(f"partial {stable(obj.args)} {stable(obj.keywords)}")
        _code_parts(obj.func, module, parts, seen)
    elif isinstance(obj, (types.MethodType, staticmethod, classmethod)):
        _code_parts(obj.__func__, module, parts, seen)
    elif isinstance(obj, types.FunctionType):
        parts.extend([obj.__qualname__, stable(obj.__defaults__), stable(obj.__kwdefaults__)])
        _code_object_parts(obj.__code__, parts)
        for cell in obj.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell: a name assigned after the function was made
                value = None
            # A closure's own functions are part of this builder wherever they were defined.
            parts.append(f"cell {_reached(value, module, parts, seen, foreign_code=True)}")
        for name in sorted(_global_names(obj.__code__)):
            if name in obj.__globals__:
                parts.append(f"global {name} {_reached(obj.__globals__[name], module, parts, seen)}")
    elif isinstance(obj, type):
        if obj.__module__ == module:
            parts.append(f"class {obj.__qualname__}")
            for base in obj.__mro__[1:]:
                _code_parts(base, module, parts, seen)
            for name, member in sorted(vars(obj).items()):
                if isinstance(member, (types.FunctionType, staticmethod, classmethod, property)):
                    parts.append(name)
                    _code_parts(member.fget if isinstance(member, property) else member, module, parts, seen)
    elif callable(obj) and not isinstance(obj, types.BuiltinFunctionType):
        _code_parts(type(obj), getattr(type(obj), "__module__", module), parts, seen)


def _reached(value, module, parts, seen, foreign_code=False):
    """What a builder reaches stands for itself: the code of its own module (and, from a closure, any
    function's code) is followed; a library class, function or module by its name; data by value."""
    if isinstance(value, types.ModuleType):
        return f"module {value.__name__}"
    own = getattr(value, "__module__", None) == module
    if isinstance(value, type) and own or isinstance(value, types.FunctionType) and (own or foreign_code):
        _code_parts(value, module, parts, seen)
        return value.__qualname__
    return qualname(value) if callable(value) else stable(value)


def _code_object_parts(code, parts):
    parts.extend([code.co_code, code.co_names])
    for const in code.co_consts:
        if isinstance(const, types.CodeType):  # a nested function, lambda or comprehension
            _code_object_parts(const, parts)
        elif isinstance(const, frozenset):  # its repr's order changes with the hash seed
            parts.append(sorted(repr(c) for c in const))
        else:
            parts.append(repr(const))


def _global_names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


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
        **({"builder code": builder_code(setup.source)} if callable(setup.source) else {}),
    }


def _lock(fd):
    """Take an exclusive lock on the open file ``fd`` without waiting; False if another holds it.

    ``flock`` (``msvcrt.locking`` on Windows), not a lock file made with O_EXCL: the operating system
    drops it when the process ends however it ends, so a killed run, the case checkpoints exist for,
    never leaves a stale lock to be guessed at; and it excludes a second writer in the same process too
    (it belongs to the open file, not to the process, unlike ``fcntl.lockf``).
    """
    try:
        import fcntl
    except ImportError:  # Windows: lock one byte far past the data, which the lock must not cover
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


_WINDOWS_LOCK_OFFSET = 2**30


class Checkpoint:
    """Append-only JSON lines: a header with the run's fingerprint, then one line per finished fit.

    :meth:`open` locks the file until :meth:`close` (or the end of the process): one writer at a time.
    """

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
        if not os.path.exists(path):
            return None
        with open(path, "rb") as fh:
            header = Checkpoint._parse(fh.read(), path)[0]
        if header is None:
            return None
        seed = header.get("seed") or {}
        return np.random.SeedSequence(seed.get("entropy"), spawn_key=tuple(seed.get("spawn_key", ())))

    @staticmethod
    def _parse(raw, path):
        """(header or None, records, byte length of the complete lines) of the file's bytes ``raw``."""
        if not raw:
            return None, [], 0
        lines = raw.split(b"\n")
        complete = lines[:-1]  # what follows the last newline is a line torn by a killed process
        good_bytes = sum(len(line) + 1 for line in complete)
        try:
            header = json.loads(complete[0]) if complete else json.loads(lines[0])
        except (ValueError, UnicodeDecodeError):
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise SeqimpValueError("The '{argument}' file {path} exists but is not a seqimp checkpoint. Pass a "
                                   "path to a new file or to a checkpoint written by seqimp; the file was left "
                                   "untouched.", argument="checkpoint", path=Value(path))
        records = []
        for number, line in enumerate(complete[1:], start=2):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                raise SeqimpValueError("The '{argument}' file {path} is damaged at line {number}. Delete it to "
                                       "start over.", argument="checkpoint", path=Value(path), number=number) from None
        return header, records, good_bytes

    def open(self, seed):
        """Lock the file, then start it or resume from it; on any error the lock is released."""
        # Opened without truncating: the file is only changed once the lock is held.
        self._file = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666), "r+b")
        try:
            if not _lock(self._file.fileno()):
                raise SeqimpRuntimeError(
                    "The '{argument}' file {path} is being written by another run (another process, or another "
                    "call in this one, holds its lock). Wait for that run to finish and call again to resume "
                    "from the file, or pass another path.", argument="checkpoint", path=Value(self.path))
            self._start_or_resume(seed)
        except BaseException:
            self.close()
            raise
        return self

    def _start_or_resume(self, seed):
        header, records, good_bytes = self._parse(self._file.read(), self.path)
        if header is None:
            self._write({"format": FORMAT, "version": VERSION, "func": self.func,
                         "seed": {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)},
                         "labels": self.label_names, "n_folds": self.n_folds,
                         "fingerprint": self.fingerprint})
            return
        if header.get("version") != VERSION:
            raise SeqimpValueError("The '{argument}' file {path} was written by another version of seqimp "
                                   "(format {version}). Pass a new path.", argument="checkpoint",
                                   path=Value(self.path), version=str(header.get("version")))
        self._check_fingerprint(header)
        self._load(records)
        self._file.truncate(good_bytes)  # drop a torn tail so the next line starts cleanly
        self._file.seek(good_bytes)

    def _check_fingerprint(self, header):
        stored = header.get("fingerprint", {})
        differ = [name for name in self.fingerprint if stored.get(name) != self.fingerprint[name]]
        if not differ:
            return
        note = ""
        if "builder code" in differ:
            note = (" The builder's code differs: the function, or a function or class of its module "
                    "that it uses, was edited since the file was written.")
            then, now = (str(v).split(" bytecode")[0] for v in (stored.get("builder code"),
                                                                  self.fingerprint["builder code"]))
            if then.startswith("Python ") and then != now:
                note = f"{note[:-1]}, or the file was written under {then} and this is {now}."
        raise SeqimpValueError(
            "The '{argument}' file {path} was written by a {func} run with different {differ}, so its scores "
            "cannot be reused for this call.{note} Pass a new checkpoint path, or delete the file to start over. "
            "The file was left untouched.", argument="checkpoint", path=Value(self.path),
            func=str(header.get("func")), differ=", ".join(differ), note=note)

    def _load(self, records):
        n_labels = len(self.label_names)
        for record in records:
            active, fold, score = record.get("active"), record.get("fold"), record.get("score")
            if not (isinstance(active, list) and all(isinstance(a, int) and 0 <= a < n_labels for a in active)
                    and isinstance(fold, int) and 0 <= fold < self.n_folds
                    and isinstance(score, (int, float))):
                raise SeqimpValueError("The '{argument}' file {path} holds an invalid record {record}. Delete it "
                                       "to start over.", argument="checkpoint", path=Value(self.path),
                                       record=Value(record))
            self.done[(tuple(active), fold)] = float(score)

    def _write(self, obj):
        self._file.write((json.dumps(obj) + "\n").encode("utf-8"))
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, task, score, seconds):
        self.done[(task.active, task.fold)] = score
        self._write({"active": list(task.active), "fold": task.fold, "score": score,
                     "seconds": round(seconds, 3)})

    def close(self):
        """Close the file, which releases the lock."""
        if self._file is not None:
            self._file.close()
            self._file = None
