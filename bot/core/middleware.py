"""Middleware: what runs around the deciding steps (slack-bolt's model). A middleware gets what is being handled
and `next`, the rest of the chain: it may change what it passes on, answer by itself without calling `next`, or
look at what came back. Deciders only decide; guards, limits and pass-throughs are middleware."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Middleware(Protocol[T, R]):
    """One layer around the deciders: handles `turn` (or passes it, changed or not, to `next`)."""

    async def __call__(self, *, turn: T, next: Callable[[T], Awaitable[R]]) -> R:
        """The outcome for `turn`: its own, or what `next` (the rest of the chain) returns."""
        ...


def chained(
    middlewares: Sequence[Middleware[T, R]], last: Callable[[T], Awaitable[R]], seen: list[T] | None = None
) -> Callable[[T], Awaitable[R]]:
    """`last` inside `middlewares`, the first one outermost. With `seen`, each middleware appends the turn it was
    given, so the last entry is the turn as the middleware that ended the chain saw it (`last` appends its own)."""
    run = last
    for middleware in reversed(middlewares):
        run = _layer(middleware, run, seen)
    return run


def _layer(
    middleware: Middleware[T, R], inner: Callable[[T], Awaitable[R]], seen: list[T] | None
) -> Callable[[T], Awaitable[R]]:
    async def run(turn: T) -> R:
        if seen is not None:
            seen.append(turn)
        return await middleware(turn=turn, next=inner)

    return run

