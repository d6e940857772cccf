"""The three-step upload slack_sdk's files_upload_v2 performs."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator
from tests.emulator.conftest import BOT_TOKEN

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


async def test_async_files_upload_v2_shares_into_a_channel(emu: SlackEmulator) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=emu.api_url)
    response = await client.files_upload_v2(
        channel="C1",
        content=PNG,
        filename="trend.png",
        title="Trust trend",
        initial_comment="This week's digest",
        alt_txt="A rising line",
    )
    assert response["file"]["name"] == "trend.png"
    assert response["file"]["title"] == "Trust trend"
    assert response["file"]["mimetype"] == "image/png"
    assert [c.method for c in emu.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    [stored] = emu.files
    assert stored["content"] == PNG
    assert stored["channels"] == ["C1"]
    [message] = emu.messages("C1")
    assert message["text"] == "This week's digest"
    assert message["files"][0]["id"] == stored["id"]


def test_sync_upload_of_several_files_to_a_dm(emu: SlackEmulator) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    dm = emu.dm_channel_id("U1")
    response = client.files_upload_v2(
        channel=dm,
        file_uploads=[
            {"content": "a,b\n1,2\n", "filename": "export.csv", "title": "Your answers"},
            {"content": b"{}", "filename": "export.json"},
        ],
    )
    assert [f["name"] for f in response["files"]] == ["export.csv", "export.json"]
    assert {f["name"]: f["content"] for f in emu.files} == {
        "export.csv": b"a,b\n1,2\n",
        "export.json": b"{}",
    }
    assert emu.dm_messages("U1")[0]["files"][0]["title"] == "Your answers"


def test_completing_an_unuploaded_file_fails(emu: SlackEmulator) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    ticket = client.files_getUploadURLExternal(filename="x.txt", length=3)
    assert ticket["upload_url"].startswith(emu.base_url + "/upload/v1/")
    with pytest.raises(SlackApiError) as exc:
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}])
    assert exc.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as bad_channel:
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id="C404")
    assert bad_channel.value.response["error"] == "invalid_channel"
