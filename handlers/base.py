"""The handler interface, defined by the core (`bot.core.handler`); named here for the router's steps."""

from bot.core.handler import Handler, MatchT, Outcome, Turn

__all__ = ["Handler", "MatchT", "Outcome", "Turn"]
