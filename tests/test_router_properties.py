"""Properties of the router on arbitrary input: it never raises and never repeats a detected secret."""

from __future__ import annotations

import asyncio
import itertools

import mnemonic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app.wiring import Core
from bot.core.conversation import InMemoryConversationStates
from bot.core.messages import InboundMessage
from bot.core.router import RouterResult

_ids = itertools.count()


def route(core: Core, text: str) -> RouterResult:
    router = core.router.with_states(InMemoryConversationStates())
    number = str(next(_ids))
    return asyncio.run(router.route(InboundMessage("prop", "u", number, number, text)))


def outputs(result: RouterResult) -> str:
    return "\n".join(
        [
            result.redacted_text,
            *(r.text for r in result.replies),
            *(s.label for r in result.replies for s in r.suggestions),
        ]
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_never_raises_on_arbitrary_unicode(core: Core, text: str) -> None:
    result = route(core, text)
    assert result.replies


def test_empty_and_huge_input(core: Core) -> None:
    assert route(core, "").replies
    assert route(core, "   \n\t ").replies
    assert route(core, "deposit " * 12_500).replies  # 100 KB
    assert route(core, "充值没到账" * 20_000).replies
    assert route(core, "\x00\ud800 \U0001f600" * 1000).replies


_words = mnemonic.Mnemonic("english").wordlist


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entropy=st.binary(min_size=16, max_size=16),
    before=st.sampled_from(["", "hi, ", "my seed phrase is ", "help!! ", "请帮我看看 "]),
    after=st.sampled_from(["", " how do I reset my 2FA?", " 提币一直在审核中", "?"]),
    separator=st.sampled_from([" ", ", ", "\n", "  "]),
)
def test_a_seed_phrase_never_comes_back_in_any_field(
    core: Core, entropy: bytes, before: str, after: str, separator: str
) -> None:
    words = mnemonic.Mnemonic("english").to_mnemonic(entropy).split()
    result = route(core, before + separator.join(words) + after)
    assert result.secret_detected
    text = outputs(result)
    # No run of three of its words survives anywhere.
    for i in range(len(words) - 2):
        assert " ".join(words[i : i + 3]) not in text
        assert separator.join(words[i : i + 3]) not in text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.binary(min_size=32, max_size=32), context=st.sampled_from(["my private key is ", "私钥：", "export key "])
)
def test_a_private_key_never_comes_back(core: Core, key: bytes, context: str) -> None:
    result = route(core, f"{context}{key.hex()} please help")
    assert result.secret_detected
    assert key.hex() not in outputs(result)
