#!/usr/bin/python3
"""Independent reference numbers for tests/tune/test_gaussian_process.cpp and test_acquisition.cpp.

Straight numpy from the textbook formulas (Rasmussen & Williams 2006, eq. 2.25-2.26, 4.17, 5.8),
no code shared with the C++ implementation. Run with Debian's python: /usr/bin/python3 gp_reference.py
"""
import math

import numpy as np


def matern52(a, b, ls, sv):
    r = math.sqrt(sum(((ai - bi) / li) ** 2 for ai, bi, li in zip(a, b, ls)))
    return sv * (1 + math.sqrt(5) * r + 5 * r * r / 3) * math.exp(-math.sqrt(5) * r)


def gram(A, B, ls, sv):
    return np.array([[matern52(a, b, ls, sv) for b in B] for a in A])


X = np.array([[0.1, 0.2], [0.5, 0.9], [0.8, 0.3]])
y = np.array([1.0, -0.5, 2.0])
Xs = np.array([[0.3, 0.4], [0.8, 0.3]])
ls, sv, noise = [0.3, 0.6], 1.5, 1e-2

print("matern52(X0, X1) =", repr(matern52(X[0], X[1], ls, sv)))
print("matern52(X0, Xs0) =", repr(matern52(X[0], Xs[0], ls, sv)))

def posterior(y):
    K = gram(X, X, ls, sv) + noise * np.eye(len(X))
    Ks = gram(Xs, X, ls, sv)
    Kinv = np.linalg.inv(K)
    mean = Ks @ Kinv @ y
    var = sv - np.einsum("ij,jk,ik->i", Ks, Kinv, Ks)
    lml = -0.5 * y @ Kinv @ y - 0.5 * np.log(np.linalg.det(K)) - 0.5 * len(X) * math.log(2 * math.pi)
    return mean, var, lml

mean, var, lml = posterior(y)
print("raw: mean =", [repr(v) for v in mean], "var =", [repr(v) for v in var], "lml =", repr(lml))
mu, sd = y.mean(), y.std()
m2, v2, _ = posterior((y - mu) / sd)
print("standardised: mean =", [repr(v) for v in m2 * sd + mu], "var =", [repr(v) for v in v2 * sd * sd])


def ei(mean, sigma, best, xi):
    imp = best - mean - xi
    if sigma <= 1e-12:
        return max(imp, 0.0)
    z = imp / sigma
    cdf = 0.5 * math.erfc(-z / math.sqrt(2))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return imp * cdf + sigma * pdf

for args in [(0.5, 0.3, 0.8, 0.05), (1.2, 0.5, 0.8, 0.0), (0.0, 2.0, 0.0, 0.0), (0.3, 0.0, 0.8, 0.1), (0.9, 0.0, 0.8, 0.0)]:
    print("ei%s =" % (args,), repr(ei(*args)))
