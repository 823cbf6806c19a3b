"""seqimp: variable importance for sequence models (LSTM, GRU, 1-D CNN, Transformer) and MLPs.

Importing seqimp does not import TensorFlow; only a Keras model passed in does.
"""

from .gradients import gradient_importance
from .lek import lek_profile, plot_lek_profile
from .lofo import lofo_importance, stepwise_importance
from .metrics import Metric
from .permutation import permutation_importance
from .perturbation import perturbation_importance
from .result import ImportanceResult
from .sage import sage_importance
from .sequences import Sequences, as_sequences
from .weights import garson_importance, olden_importance

__version__ = "0.3.0"

__all__ = ["ImportanceResult", "Metric", "Sequences", "as_sequences", "garson_importance", "gradient_importance",
           "lek_profile", "lofo_importance", "olden_importance", "permutation_importance", "perturbation_importance",
           "plot_lek_profile", "sage_importance", "stepwise_importance"]
