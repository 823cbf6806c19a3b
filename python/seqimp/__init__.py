"""seqimp: variable importance for sequence models (LSTM, GRU, 1-D CNN, Transformer) and MLPs.

Importing seqimp does not import TensorFlow; only a Keras model passed in does.
"""

from .metrics import Metric
from .permutation import permutation_importance
from .perturbation import perturbation_importance
from .result import ImportanceResult

__version__ = "0.1.0"

__all__ = ["ImportanceResult", "Metric", "permutation_importance", "perturbation_importance"]
