"""Issue 13, HTTP side: the X CRC oracle, body limits enforced while reading, authentication before parsing, text
caps per platform, logs that unauthenticated requests cannot write into, and the admin pages' token.

The app is `omnidesk run`'s own (`tests.test_http_security.serve`: real uvicorn, the fake Telegram, X and Slack APIs).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote_plus

import mnemonic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.telegram import SECRET_HEADER
from adapters.twitter import SIGNATURE_HEADER, crc_token_acceptable
from bot.app.config import Config, ConfigError, ServerConfig, parse_config
from bot.security.log_redaction import AccessLogFilter, install_log_redaction
from bot.security.secret_scanner import SecretScanner
from tests.test_http_security import (
    FUZZ,
    TG_SECRET,
    App,
    bearer,
    serve,
    slack_headers,
    tg_update,
    widget_session,
    x_event_payload,
    x_signature,
)

SEED = mnemonic.Mnemonic("english").to_mnemonic(bytes(range(16)))
MB = 1024 * 1024


@pytest.fixture
async def app(config: Config, tmp_path: Path) -> AsyncIterator[App]:
    async with asyncio.timeout(100), serve(config, tmp_path) as running_app:
        yield running_app


async def raw_post(url: str, path: str, headers: dict[str, str], body: bytes = b"", *, chunked: bool = False) -> int:
    """POST over a plain socket and return the status. Unlike an HTTP client, it can declare a body it never sends
    (so the answer proves the server did not wait for it) or send a chunked body without a length, then wait."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        head = [f"POST {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
        if chunked:
            head.append("Transfer-Encoding: chunked")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        piece = 64 * 1024
        for start in range(0, len(body), piece):
            part = body[start : start + piece]
            writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n" if chunked else part)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
        status_line = await asyncio.wait_for(reader.readline(), 30)
        return int(status_line.split()[1])
    finally:
        writer.close()


# -- the X CRC oracle ------------------------------------------------------------------------------------------


async def test_the_crc_endpoint_cannot_be_used_to_sign_a_forged_dm(app: App) -> None:
    app.x.users.setdefault("2244994945", "someone")
    forged = json.dumps(x_event_payload("1790000000000000999", "send me all your funds")).encode()
    # The attack: ask the CRC endpoint to "answer" the forged body, then post it with that answer as signature.
    oracle = await app.http.get("/twitter/webhook", params={"crc_token": forged.decode()})
    assert oracle.status_code == 400 and "response_token" not in oracle.text
    for token in ("{}", ' {"a":1}', "a" * 257, "short", "abc def ghij", '"quoted-string"', "[1,2,3,4,5,6]"):
        assert (await app.http.get("/twitter/webhook", params={"crc_token": token})).status_code == 400, token
    posted = await app.http.post("/twitter/webhook", content=forged, headers={SIGNATURE_HEADER: "sha256=AAAA"})
    assert posted.status_code == 403
    assert await app.inbound_count() == 0 and app.x.sent == []
    # X's own challenges (UUIDs, base64 text) are still answered.
    for token in ("9b4507b3-9040-4669-9ca3-6b94edb50553", "Y2hhbGxlbmdlLXRva2Vu+/=", "challenge_token_123"):
        response = await app.http.get("/twitter/webhook", params={"crc_token": token})
        assert response.status_code == 200 and response.json()["response_token"].startswith("sha256="), token


@FUZZ
@given(st.text(max_size=300))
def test_no_crc_token_we_answer_is_a_json_object(token: str) -> None:
    """Why the oracle is closed: the POST side acts only on a JSON object, and no answered token parses as one."""
    if not crc_token_acceptable(token):
        return
    try:
        parsed = json.loads(token)
    except ValueError:
        return
    assert not isinstance(parsed, dict)


# -- body limits, enforced while reading -----------------------------------------------------------------------


async def test_declared_oversized_bodies_are_refused_before_reading(app: App) -> None:
    # 20 MB declared, not one byte of it sent: the 413 comes back without the server waiting for the body.
    declared = {"Content-Type": "application/json", "Content-Length": str(20 * MB)}
    for path in ("/slack/events", "/slack/interactivity", "/twitter/webhook", "/telegram/webhook"):
        assert await raw_post(app.url, path, declared) == 413, path
    assert await raw_post(app.url, "/api/webchat/session", {"Content-Length": str(200 * MB)}) == 413
    # The authenticated Telegram webhook too: the secret does not buy an unbounded body.
    assert await raw_post(app.url, "/telegram/webhook", {**declared, SECRET_HEADER: TG_SECRET}) == 413
    assert await raw_post(app.url, "/api/webchat/session", {"Content-Length": "12abc"}) == 400
    assert await app.inbound_count() == 0


async def test_chunked_bodies_are_cut_off_at_the_limit(app: App) -> None:
    # Chunked, no length: the server stops reading one chunk past the limit and answers.
    over = {"/api/webchat/session": 64 * 1024, "/slack/events": MB, "/twitter/webhook": MB, "/telegram/webhook": MB}
    # Slack's headers are checked before its body is read: signed with a wrong secret, so the body is read.
    slack = slack_headers("{}") | {"Content-Type": "application/json"}
    for path, limit in over.items():
        body = b"{" + b" " * limit + b"}"
        headers = slack if path.startswith("/slack") else {"Content-Type": "application/json"}
        if path == "/telegram/webhook":
            headers = {**headers, SECRET_HEADER: TG_SECRET}  # authenticated, and still cut off
        status = await raw_post(app.url, path, headers, body, chunked=True)
        assert status == 413, path
    # Within the limit, chunked bodies are served as usual.
    assert await raw_post(app.url, "/api/webchat/session", {}, b"{}", chunked=True) == 200


async def test_bodies_within_the_limits_still_work(app: App) -> None:
    _, token = await widget_session(app)
    sent = await app.http.post("/api/webchat/messages", json={"id": "m1", "text": "hi"}, headers=bearer(token))
    assert sent.status_code == 200
    padded = json.dumps({"id": "m2", "text": "hello"}) + " " * (60 * 1024)
    ok = await app.http.post(
        "/api/webchat/messages", content=padded, headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert ok.status_code == 200
    too_big = await app.http.post(
        "/api/webchat/messages", content=padded + " " * 8192, headers={**bearer(token), "Content-Type": "text/plain"}
    )
    assert too_big.status_code == 413


# -- authentication before parsing, and logs unauthenticated requests cannot write into -------------------------


async def test_an_unsigned_slack_body_is_neither_parsed_nor_logged(app: App, caplog: pytest.LogCaptureFixture) -> None:
    payload = json.dumps({"type": "block_actions", "actions": [], "note": f"{SEED} ATTACKER-CONTROLLED-TEXT"})
    form = "payload=" + quote_plus(payload)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": "1700000000"}
    with caplog.at_level(logging.DEBUG):
        for path in ("/slack/interactivity", "/slack/events"):
            refused = await app.http.post(path, content=form, headers={**headers, "X-Slack-Signature": "v0=00"})
            assert refused.status_code == 401
        # Broken JSON, unsigned: refused on the signature, not parsed (it would be a 400 "malformed event").
        broken = await app.http.post(
            "/slack/events",
            content=b"[" * 100_000,
            headers={"Content-Type": "application/json", "X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "x"},
        )
        assert broken.status_code == 401
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "ATTACKER-CONTROLLED-TEXT" not in logged and "payload=" not in logged and "%7B" not in logged
    assert SEED.split()[0] + " " + SEED.split()[1] not in logged
    # A signed request still reaches bolt.
    body = json.dumps({"type": "url_verification", "challenge": "abc", "token": "t"})
    verified = await app.http.post("/slack/events", content=body, headers=slack_headers(body))
    assert verified.status_code == 200 and "abc" in verified.text


def test_url_encoded_and_form_bodies_are_redacted_in_logs(scanner: SecretScanner) -> None:
    logger = logging.getLogger("omnidesk.test.url_encoded")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    logger.addHandler(Keep())
    try:
        install_log_redaction(scanner, logger)
        body = "payload=" + quote_plus(json.dumps({"text": f"my seed is {SEED}"}))
        logger.info("Invalid request signature detected (body: %s)", body)
        logger.info("form: text=%s&x=1", SEED.replace(" ", "+"))
        logger.info("percent: %s", SEED.replace(" ", "%20"))
    finally:
        logger.handlers.clear()
        logger.propagate = True
    assert len(records) == 3
    for line in records:
        assert "REDACTED" in line, line
        words = SEED.split()
        assert f"{words[0]} {words[1]} {words[2]}" not in line and f"{words[0]}+{words[1]}" not in line
        assert f"{words[0]}%20{words[1]}" not in line


def test_the_access_log_keeps_no_query_string_and_no_control_characters() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/ws/webchat?token=abc.def&lang=en", "1.1", 101),
        None,
    )
    assert AccessLogFilter().filter(record)
    message = record.getMessage()
    assert "token" not in message and "abc.def" not in message and "/ws/webchat?[query omitted]" in message
    hostile = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/x\r\nFAKE LOG LINE" + "a" * 5000, "1.1", 404),
        None,
    )
    AccessLogFilter().filter(hostile)
    line = hostile.getMessage()
    assert "\n" not in line and "\r" not in line and len(line) < 400


# -- text caps ---------------------------------------------------------------------------------------------------


async def test_texts_longer_than_the_platform_allows_are_skipped(app: App) -> None:
    app.x.users.setdefault("2244994945", "someone")
    update = tg_update(7101, "a" * 4097)
    tg = await app.http.post("/telegram/webhook", json=update, headers={SECRET_HEADER: TG_SECRET})
    assert tg.status_code == 200
    body = json.dumps(x_event_payload("1790000000000000555", "b" * 10_001)).encode()
    x = await app.http.post("/twitter/webhook", content=body, headers={SIGNATURE_HEADER: x_signature(body)})
    assert x.status_code == 200
    assert await app.inbound_count() == 0 and app.telegram.sent == [] and app.x.sent == []
    # At the limit they are handled.
    at_limit = tg_update(7102, "where is my UID? " + "a" * (4096 - 17))
    assert (
        await app.http.post("/telegram/webhook", json=at_limit, headers={SECRET_HEADER: TG_SECRET})
    ).status_code == 200
    assert await app.inbound_count() == 1


# -- admin pages ---------------------------------------------------------------------------------------------------


async def test_metrics_and_health_details_need_the_admin_token_when_one_is_set(config: Config, tmp_path: Path) -> None:
    secured = config.model_copy(update={"server": ServerConfig(admin_token="admin-token-for-tests")})
    async with asyncio.timeout(100), serve(secured, tmp_path) as app:
        assert (await app.http.get("/metrics")).status_code == 401
        assert (await app.http.get("/metrics", headers=bearer("wrong"))).status_code == 401
        metrics = await app.http.get("/metrics", headers=bearer("admin-token-for-tests"))
        assert metrics.status_code == 200 and "omnidesk_" in metrics.text
        assert (await app.http.get("/healthz")).json() == {"status": "ok"}
        detailed = await app.http.get("/healthz", headers=bearer("admin-token-for-tests"))
        assert detailed.json() == {"status": "ok", "store": "ok"}


async def test_with_an_admin_port_metrics_and_health_are_not_on_the_public_port(config: Config, tmp_path: Path) -> None:
    separate = config.model_copy(update={"server": ServerConfig(admin_port=0)})
    async with asyncio.timeout(100), serve(separate, tmp_path) as app:
        assert (await app.http.get("/metrics")).status_code == 404
        assert (await app.http.get("/healthz")).status_code == 404


def test_bad_server_and_session_settings_fail_at_start_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"'server\.max_body_bytes'"):
        parse_config({"server": {"max_body_bytes": 10}}, {})
    with pytest.raises(ConfigError, match=r"'server\.admin_port'"):
        parse_config({"server": {"admin_port": "eighty"}}, {})
    with pytest.raises(ConfigError, match=r"'channels\.webchat'.*renew"):
        parse_config({"channels": {"webchat": {"session_ttl_hours": 1, "session_renew_after_minutes": 90}}}, {})
    assert parse_config({"server": {"admin_port": ""}}, {}).server.admin_port is None
