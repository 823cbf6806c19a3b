"""PyTorch without torch (issue 23, item 8): torch is not a dependency (its wheels bring about 6 GB of
CUDA libraries), so these tests stand in for it with classes whose module names are torch's, which is
how seqimp recognises torch objects (as it recognises rpy2's) without importing it."""

import numpy as np
import pytest

import seqimp
from seqimp.adapters import is_torch_module

# torch.nn.Module as seqimp sees it: a class defined in the module "torch.nn.modules.module".
Module = type("Module", (), {"__module__": "torch.nn.modules.module",
                             "__call__": lambda self, x: self.forward(x)})


class Tensor:
    """torch.Tensor's behaviour where seqimp meets it: .numpy() refuses a tensor that requires grad."""

    def __init__(self, values, requires_grad=True):
        self.values, self.requires_grad = np.asarray(values, dtype=np.float32), requires_grad

    def detach(self):
        return Tensor(self.values, requires_grad=False)

    def cpu(self):
        return self

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        return self.values


Tensor.__module__ = "torch"


class Net(Module):
    def forward(self, x):
        return Tensor(np.asarray(x)[:, :, 0].sum(axis=1))


X = np.random.default_rng(0).random((40, 5, 3))


def test_a_module_is_recognised_without_torch_and_refused_with_the_wrapper():
    assert is_torch_module(Net()) and not is_torch_module(lambda x: x)
    wrapper = r"model=lambda x: m\(torch\.from_numpy\(x\)\.float\(\)\)\.detach\(\)\.numpy\(\)"
    with pytest.raises(TypeError, match=r"^The 'model' parameter of perturbation_importance is a PyTorch module "
                                        r"\(Net\); seqimp calls models on NumPy arrays and does not import "
                                        rf"torch\. Pass it as a function of NumPy arrays: {wrapper}"):
        seqimp.perturbation_importance(Net(), X)
    with pytest.raises(TypeError, match=rf"PyTorch module \(Net\).*Gradients are taken through Keras .*{wrapper}"):
        seqimp.gradient_importance(Net(), X)
    with pytest.raises(TypeError, match=r"'model_or_builder' parameter of lofo_importance is a PyTorch module.*"
                                        r"seqimp refits Keras models"):
        seqimp.lofo_importance(Net(), X, X[:, :, 0].sum(axis=1), progress=False)
    with pytest.raises(TypeError, match="PyTorch module"):
        seqimp.permutation_importance(Net(), X, X[:, :, 0].sum(axis=1))


def test_a_tensor_returned_by_a_callable_is_converted():
    net = Net()
    with_tensor = seqimp.perturbation_importance(lambda x: net.forward(x), X, random_state=0)
    with_numpy = seqimp.perturbation_importance(lambda x: x[:, :, 0].sum(axis=1).astype(np.float32), X,
                                                random_state=0)
    np.testing.assert_array_equal(with_tensor.importances, with_numpy.importances)
    assert with_tensor.importances_mean[0] > 0 and with_tensor.importances_mean[1] == 0.0


def test_failures_inside_or_after_a_callable_keep_seqimps_context():
    def broken(x):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (40x15 and 5x1)")

    with pytest.raises(ValueError, match=r"^The model \(callable\) failed on input of shape \(\d+, 5, 3\): "
                                         r"RuntimeError: mat1 and mat2"):
        seqimp.perturbation_importance(broken, X)

    class Stuck(Tensor):
        def detach(self):
            raise RuntimeError("the tensor lives on a device that is gone")

    Stuck.__module__ = "torch"

    with pytest.raises(ValueError, match=r"^The model \(callable\) returned a Stuck for input of shape \(\d+, 5, 3\) "
                                         r"that seqimp could not read as predictions: RuntimeError: the tensor"):
        seqimp.perturbation_importance(lambda x: Stuck(x[:, 0, 0]), X)
