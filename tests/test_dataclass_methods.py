"""grad(Model.loss)(model, x): a method differentiated with respect to its dataclass `self`,
the other methods it calls on self inlined from the class (as for grad(model.loss))."""

from dataclasses import dataclass

import numpy as np
import pytest
from numeric import numeric_gradient

import ast_ad


@dataclass
class Model:
    w: np.ndarray
    b: float

    def predict(self, x):
        return np.tanh(x @ self.w + self.b)

    def penalty(self, scale=1e-2):
        return scale * np.sum(self.w ** 2)

    def loss(self, x, y):
        return np.sum((self.predict(x) - y) ** 2) + self.penalty()


rng = np.random.default_rng(3)
X, Y = rng.normal(size=(6, 3)), rng.normal(size=6)


def loss_of(w, b, x):
    return Model(w, b).loss(x, Y)


def test_gradient_with_respect_to_self_and_an_argument():
    m = Model(rng.normal(size=3), 0.2)
    g_model, g_x = ast_ad.grad(Model.loss, argnums=(0, 1))(m, X, Y)
    assert isinstance(g_model, Model)
    np.testing.assert_allclose(g_model.w, numeric_gradient(loss_of, (m.w, m.b, X), 0),
                               atol=1e-6)
    np.testing.assert_allclose(g_model.b, numeric_gradient(loss_of, (m.w, m.b, X), 1),
                               atol=1e-6)
    np.testing.assert_allclose(g_x, numeric_gradient(loss_of, (m.w, m.b, X), 2), atol=1e-6)
    value, g = ast_ad.value_and_grad(Model.loss)(m, X, Y)
    assert value == pytest.approx(m.loss(X, Y), rel=1e-12)
    np.testing.assert_allclose(g.w, g_model.w, rtol=1e-12)
    # forward mode agrees
    tangent = Model(np.array([0.3, -0.1, 0.2]), 0.5)
    _, t = ast_ad.jvp(Model.loss, (m, X, Y), (tangent, np.zeros_like(X), np.zeros_like(Y)))
    assert t == pytest.approx(g_model.w @ tangent.w + g_model.b * tangent.b, rel=1e-9)
    code = [line for line in ast_ad.source(ast_ad.grad(Model.loss), m, X, Y).splitlines()
            if not line.lstrip().startswith("#")]
    assert not any("predict" in line or "penalty" in line for line in code)  # inlined


def test_an_attribute_of_the_instance_that_hides_a_method_is_not_inlined_over():
    m = Model(rng.normal(size=3), 0.2)
    ast_ad.grad(Model.loss)(m, X, Y)  # compiled for instances without attributes of their own
    hiding = Model(m.w.copy(), 0.2)
    hiding.predict = lambda x: x @ hiding.w  # the class's predict must not be used for it
    with pytest.raises(ast_ad.NoRuleError, match=r"\.predict\(\)"):
        ast_ad.grad(Model.loss)(hiding, X, Y)
    with pytest.raises(ast_ad.NoRuleError, match=r"\.predict\(\)"):
        ast_ad.jvp(Model.loss, (hiding, X, Y), (m, np.zeros_like(X), np.zeros_like(Y)))
