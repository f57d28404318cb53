"""Fits the polynomial behind VectorMath.erfc's scaled form (the GELU kernels), so the coefficients can be re-derived.

erfc(z) = exp(-z^2) * R(t),  t = 1 / (1 + z/2),  z in [0, 10.5]  (exp(-z^2) is 0 in float32 past z = 10.2)

R approximates erfcx(z) = exp(z^2) erfc(z), which is smooth in t on (0.17, 1]; a degree-10 Chebyshev fit weighted for
relative error (float64) is within 2.2e-8 of erfcx, and about 2.4e-7 (4 ulp) once evaluated by Horner in float32.
Run: /usr/bin/python3 src/test/python/fit_erfcx.py  (numpy only); paste the printed literals into VectorMath.
"""
import math

import numpy as np

A, Z_MAX, DEGREE = 0.5, 10.5, 10
z = np.linspace(0.0, Z_MAX, 40001)
y = np.array([math.exp(v * v) * math.erfc(v) for v in z])
t = 1.0 / (1.0 + A * z)
t_min = 1.0 / (1.0 + A * Z_MAX)
u = (2.0 * t - (1.0 + t_min)) / (1.0 - t_min)
weights = 1.0 / y
cheb, *_ = np.linalg.lstsq(np.polynomial.chebyshev.chebvander(u, DEGREE) * weights[:, None], y * weights, rcond=None)
power = np.polynomial.chebyshev.Chebyshev(cheb, domain=[t_min, 1.0]).convert(kind=np.polynomial.Polynomial).coef
coef32 = power.astype(np.float32)
r = np.full_like(t.astype(np.float32), coef32[-1])
for c in coef32[-2::-1]:
    r = np.float32(r * t.astype(np.float32) + c)
print("max relative error: float64 fit %.3g, float32 Horner %.3g" % (
    np.max(np.abs(np.polyval(power[::-1], t) - y) / y), np.max(np.abs(r - y) / y)))
print("// R(t) coefficients, t^0 first")
print(", ".join(repr(float(c)) + "f" for c in coef32))
