"""A config whose every channel points at the fakes, as `omnidesk run` would be configured against the real ones."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.app.config import Config
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.x_api import FakeXApi


def with_store(config: Config, db: Path | str) -> Config:
    """`config` with its SQLite store at `db`."""
    return config.model_copy(update={"store": config.store.model_copy(update={"path": str(db)})})


def config_for_fakes(
    config: Config,
    db: Path,
    telegram: FakeTelegramApi,
    x: FakeXApi,
    slack: FakeSlackApi,
    *,
    slack_signing_secret: str,
    telegram_settings: Mapping[str, Any] | None = None,
    twitter_settings: Mapping[str, Any] | None = None,
) -> Config:
    """`config` with the store at `db` and Telegram, X and Slack talking to the running fakes."""
    channels = config.channels.model_copy(
        update={
            "telegram": config.channels.telegram.model_copy(
                update={"token": telegram.token, "base_url": telegram.base_url, **(telegram_settings or {})}
            ),
            "twitter": config.channels.twitter.model_copy(
                update={
                    "consumer_key": x.consumer_key,
                    "consumer_secret": x.consumer_secret,
                    "access_token": x.access_token,
                    "access_token_secret": x.access_token_secret,
                    "api_base_url": x.base_url,
                    **(twitter_settings or {}),
                }
            ),
        }
    )
    slack_config = config.agents.slack.model_copy(
        update={
            "bot_token": slack.token,
            "signing_secret": slack_signing_secret,
            "channel": "agents",
            "api_base_url": slack.base_url,
        }
    )
    return with_store(config, db).model_copy(
        update={
            "channels": channels,
            "agents": config.agents.model_copy(update={"slack": slack_config}),
        }
    )
