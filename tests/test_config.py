from pathlib import Path

import pytest

from bot.app.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_loads_without_any_environment() -> None:
    config = load_config(ROOT / "config.yaml", env={})
    assert config.brand.name == "ExampleX"
    assert config.channels.telegram.token == ""
    assert config.store.path == "./omnidesk.db"
    assert config.channels.webchat.port == 8080


def test_environment_values_are_substituted() -> None:
    config = load_config(ROOT / "config.yaml", env={"OMNIDESK_BRAND": "Acme", "TELEGRAM_BOT_TOKEN": "123:abc"})
    assert config.brand.name == "Acme"
    assert config.channels.telegram.token == "123:abc"


def test_a_required_variable_that_is_unset_names_the_key_and_variable() -> None:
    with pytest.raises(ConfigError, match=r"'agents\.slack\.bot_token'.*SLACK_TOKEN"):
        parse_config({"agents": {"slack": {"bot_token": "${SLACK_TOKEN}"}}}, env={})


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"matcher": {"answer": 1.5}}, "matcher.answer"),
        ({"matcher": {"answer": 0.2, "clarify": 0.5}}, "matcher"),
        ({"brand": {"nmae": "typo"}}, "brand.nmae"),
        ({"channels": {"webchat": {"port": "eighty"}}}, "channels.webchat.port"),
        ({"default_language": "fr"}, "default_language"),
        ({"brand": {"official_domains": []}}, "brand"),
    ],
)
def test_a_bad_value_fails_with_one_message_naming_the_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env={})
    assert f"'{key}'" in str(caught.value)


def test_invalid_yaml_and_missing_files_are_clear_errors(tmp_path: Path) -> None:
    broken = tmp_path / "config.yaml"
    broken.write_text("brand: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken, env={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml", env={})
    broken.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(broken, env={})
