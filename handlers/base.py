"""The handler and middleware interfaces, defined by the core (`bot.core.handler`); named here for the router's
steps."""

from bot.core.handler import Handler, MatchT, NextStep, Outcome, Turn, TurnMiddleware

__all__ = ["Handler", "MatchT", "NextStep", "Outcome", "Turn", "TurnMiddleware"]
