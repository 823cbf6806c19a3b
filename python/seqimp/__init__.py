"""seqimp: variable importance for sequence models (LSTM, GRU, 1-D CNN, Transformer) and MLPs.

Importing seqimp does not import TensorFlow; only a Keras model passed in does.
"""

from .gradients import gradient_importance
from .improved_stepwise import improved_stepwise_importance
from .lek import lek_profile, plot_lek_profile
from .lofo import lofo_importance, stepwise_importance
from .metrics import Metric
from .permutation import permutation_importance
from .perturbation import perturbation_importance
from .perturbation_curve import perturbation_curve, plot_perturbation_curve
from .randomization import randomization_test
from .result import ImportanceResult
from .sage import sage_importance
from .sequences import Sequences, as_sequences
from .weights import garson_importance, olden_importance

__version__ = "0.3.0"

__all__ = ["ImportanceResult", "Metric", "Sequences", "as_sequences", "garson_importance", "gradient_importance",
           "improved_stepwise_importance", "lek_profile", "lofo_importance", "olden_importance",
           "permutation_importance", "perturbation_curve", "perturbation_importance", "plot_lek_profile",
           "plot_perturbation_curve", "randomization_test", "sage_importance", "stepwise_importance"]
