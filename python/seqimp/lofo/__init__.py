"""Importance by retraining: leave-one-feature-out (LOFO) and stepwise selection.

Every fit is one task (a set of active labels and a fold) that runs wherever joblib sends it; the
caller's process alone owns the order of the work, the seeds, the checkpoint file and the progress
bar, so results never depend on where a fit ran. The rooms:

- ``api``: the public functions, :func:`lofo_importance` and :func:`stepwise_importance` (with the
  stepwise walk);
- ``setup``: the arguments both share, checked once and resolved into a ``Setup``;
- ``folds``: the (train, test) splits, the seeds, and one fold's inputs;
- ``retrain``: one fit, and the retrain loop (checkpoint, null model or new fits; progress; errors);
- ``checkpoint``: the checkpoint file format and the run's fingerprint.
"""

from .api import DIRECTIONS, lofo_importance, stepwise_importance
from .retrain import FitError
from .setup import MODES

__all__ = ["DIRECTIONS", "FitError", "MODES", "lofo_importance", "stepwise_importance"]
