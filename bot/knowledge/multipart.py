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
# Where a second question starts: after a question mark, or at "also" / "and another thing" / 另外 (a full stop
# is not enough: a story's sentences are context for one question).
_BOUNDARY = re.compile(
    r"(?<=[?？])\s*|[,，]?\s*\b(?:also|and\s+also|plus|another\s+(?:thing|question)|btw|"
    r"separately|one\s+more\s+thing)\b[,:]?\s*|[，,]?(?:另外|还有|顺便问一?下|再问一?下|以及)[，,：:]?",
    re.IGNORECASE,
)
_MIN_PART = 8  # characters: shorter pieces ("ok?", "thx.") are not questions of their own


def strip_greeting(text: str) -> str:
    """The message without a leading greeting (the message itself when it is nothing but a greeting)."""
    rest = _GREETING.sub("", text, count=1).strip()
    return rest if len(rest) >= 2 else text


def split_questions(text: str) -> tuple[str, ...]:
    """The message's questions in order: one part, or the first two substantial parts."""
    parts = [p.strip() for p in _BOUNDARY.split(text) if p and p.strip()]
    substantial = [p for p in parts if len(p) >= _MIN_PART]
    if len(substantial) < 2:
        return (text,)
    return (substantial[0], " ".join(p for p in parts[parts.index(substantial[1]) :]))
