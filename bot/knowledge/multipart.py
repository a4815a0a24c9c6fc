"""Messages with more than one thing in them: a greeting before the question, or two questions in one message."""

from __future__ import annotations

import re

# A greeting at the start, with what usually follows it ("hi there!", "good morning 🌞", "在吗？", "哈喽").
_GREETING = re.compile(
    r"^\W*(?:(?:hi|hello|hey|hiya|heya|yo|gm|good\s+(?:morning|afternoon|evening|day)|greetings|howdy|sup|hola|"
    r"hi\s+there|hello\s+there|hey\s+there|dear\s+(?:support|team|admin)|excuse\s+me)\b"
    r"(?:\s+(?:there|guys|team|support|admin|all|everyone|sir|mate|bro|friend|folks))?"
    r"|你好|您好|在吗|在嘛|在不在|哈喽|哈啰|嗨|hello|早上好|晚上好|下午好|打扰了|打扰一下|请问一下|亲)"
    r"[\s,.!?~:;，。！？～…、\U0001F300-\U0001FAFF\u2600-\u27BF]*",
    re.IGNORECASE,
)
# Where a second question starts: after a question mark; at "also" / "btw" / "another thing" / 另外 / 还有 / 顺便;
# at ", and how ..." (a new question word after "and"); or at a space between two Chinese clauses (Chinese has no
# spaces between words, so one there ends a clause). A full stop is not enough: a story's sentences are context
# for one question.
_CJK = "\u3400-\u9fff"
_ASKED_BOUNDARY = (
    r"(?<=[?？])\s*"
    r"|[,，]?\s*\b(?:also|and\s+also|plus|another\s+(?:thing|question)|btw|separately|one\s+more\s+thing)\b[,:]?\s*"
    r"|[,，]?\s*\band\s+(?=(?:how|what|whats|what's|where|when|why|which|can|could|is|are|do|does|will)\b)"
    r"|[，,]?\s*(?:另外|还有|還有|顺便问一?下|順便問一?下|顺便问问|順便問問|顺便|順便|再问一?下|再問一?下|以及|然后|然後)[，,：:]?"
)
_BOUNDARY = re.compile(_ASKED_BOUNDARY + rf"|(?<=[{_CJK}])\s+(?=[{_CJK}])", re.IGNORECASE)
# Without the space between Chinese clauses, which as often sets context before the one question ("短信能收 就是…")
_ASKED = re.compile(_ASKED_BOUNDARY, re.IGNORECASE)
_HAN = re.compile(f"[{_CJK}]")
_MIN_WEIGHT = 8  # a Latin character weighs 1 and a Chinese one 2: shorter pieces ("ok?", "thx.") are no question


def strip_greeting(text: str) -> str:
    """The message without a leading greeting (the message itself when it is nothing but a greeting)."""
    rest = _GREETING.sub("", text, count=1).strip()
    return rest if len(rest) >= 2 else text


def _weight(part: str) -> int:
    return len(part) + len(_HAN.findall(part))


def split_questions(text: str, asked_only: bool = False) -> tuple[str, ...]:
    """The message's questions in order: one part, or the first two substantial parts (`asked_only`: split only
    where the user marked a second question: a question mark, "also", 另外…)."""
    parts = [p.strip() for p in (_ASKED if asked_only else _BOUNDARY).split(text) if p and p.strip()]
    substantial = [p for p in parts if _weight(p) >= _MIN_WEIGHT]
    if len(substantial) < 2:
        return (text,)
    return (substantial[0], " ".join(p for p in parts[parts.index(substantial[1]) :]))
