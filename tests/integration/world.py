"""The people around tgmonitor on Telegram's test servers: a poster, an analyst, a stranger, BotFather.

Runs as a separate process (the project's own venv) so that its clients and their update loops never
share an event loop with the test; the test talks to it in JSON lines on stdin/stdout:
`{"op": "post", "who": "poster", "channel": "mfa_x", "text": "..."}` -> `{"ok": true, "result": ...}`.
Each account keeps one connected client; what it sees in a chat is read from the server (text, the
entities as Telegram HTML, buttons).

Test accounts use Telegram's test phone numbers (+99966 X YYYY, X the DC id): the login code is the DC
digit five times, and a number nobody uses yet is signed up on the spot. Everything this process
creates on the server (channels, a bot, a 2FA password) it records, and `cleanup` deletes it again,
then logs every account out of all its sessions (tgmonitor's included).

Settings (environment, set by tests/integration/conftest.py): TGMONITOR_LIVE_API_ID,
TGMONITOR_LIVE_API_HASH, TGMONITOR_LIVE_SERVER (`DC@HOST:PORT`), TGMONITOR_LIVE_PUBLIC_KEY (optional).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

from telethon import TelegramClient, errors, functions
from telethon.crypto import rsa
from telethon.extensions import html
from telethon.sessions import StringSession

from bot.setting_values import parse_server

SERVER = parse_server(os.environ["TGMONITOR_LIVE_SERVER"])
API_ID, API_HASH = int(os.environ["TGMONITOR_LIVE_API_ID"]), os.environ["TGMONITOR_LIVE_API_HASH"]


def login_code() -> str:
    """Telegram's test servers send no code to +99966XYYYY: it is the DC digit five times (DC 2: 22222)."""
    return str(SERVER.dc_id) * 5


def png(rgb: tuple[int, int, int], width: int = 96, height: int = 64) -> bytes:
    """A small one-colour PNG, a valid photo for Telegram (written here: no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def message_json(msg: Any) -> dict[str, Any]:
    buttons = [[b.text for b in row.buttons] for row in getattr(msg.reply_markup, "rows", None) or []]
    return {
        "id": msg.id,
        "chat_id": msg.chat_id,
        "sender_id": msg.sender_id,
        "text": msg.raw_text or "",
        "html": html.unparse(msg.raw_text or "", msg.entities or []),
        "entities": [type(e).__name__ for e in msg.entities or []],
        "buttons": buttons,
        "grouped_id": msg.grouped_id,
    }


class World:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.clients: dict[str, TelegramClient] = {}
        self.channels: dict[str, Any] = {}
        self.bots: list[tuple[str, str]] = []  # (owner, @username) made with BotFather, deleted at cleanup
        self.passwords: dict[str, str] = {}  # who -> 2FA password set here, removed at cleanup

    async def client(self) -> TelegramClient:
        client = TelegramClient(StringSession(), API_ID, API_HASH)
        client.session.set_dc(SERVER.dc_id, SERVER.host, SERVER.port)
        await client.connect()
        return client

    # ------------------------------------------------------------ accounts
    async def signup(self, who: str, phone: str, name: str, username: str | None = None) -> dict[str, Any]:
        """Sign in to a test number, signing it up first when nobody uses it yet."""
        client = await self.client()
        sent = await client.send_code_request(phone)
        try:
            await client.sign_in(phone, login_code(), phone_code_hash=sent.phone_code_hash)
        except errors.PhoneNumberUnoccupiedError:
            result = await client(functions.auth.SignUpRequest(phone, sent.phone_code_hash, name, ""))
            await client._on_login(result.user)
        except errors.SessionPasswordNeededError as exc:
            raise RuntimeError(f"{phone} has a 2FA password (left by someone else?): pick another number") from exc
        if username:
            await client(functions.account.UpdateUsernameRequest(username))
        self.clients[who] = client
        me = await client.get_me()
        return {"id": me.id, "username": me.username, "phone": me.phone}

    async def set_password(self, who: str, password: str) -> None:
        """Two-step verification, as the account's owner turns it on in the app."""
        await self.clients[who].edit_2fa(new_password=password)
        self.passwords[who] = password

    async def newbot(self, who: str, name: str, username: str) -> str:
        """Ask the test server's BotFather for a bot, as a person would; returns the token."""
        client = self.clients[who]
        async with client.conversation("botfather", timeout=30) as conv:
            for line in ("/newbot", name, username):
                await conv.send_message(line)
                reply = await conv.get_response()
        match = re.search(r"\b(\d+:[A-Za-z0-9_-]{20,})", reply.raw_text)
        if not match:
            raise RuntimeError(f"BotFather did not give a token: {reply.raw_text!r}")
        self.bots.append((who, f"@{username}"))
        return match.group(1)

    async def bot_username(self, token: str) -> str:
        """The @username of a bot given by its token (TGMONITOR_LIVE_BOT_TOKEN)."""
        bot = await self.client()
        try:
            await bot.sign_in(bot_token=token)
            me = await bot.get_me()
            return str(me.username)
        finally:
            await bot.log_out()

    # ------------------------------------------------------------ channels
    async def create_channel(self, who: str, title: str, username: str) -> int:
        result = await self.clients[who](functions.channels.CreateChannelRequest(title=title, about="", broadcast=True))
        channel = result.chats[0]
        self.channels[username] = (who, channel)  # recorded before anything else can fail: cleanup deletes it
        await self.clients[who](functions.channels.UpdateUsernameRequest(channel, username))
        return int(channel.id)

    def _channel(self, name: str) -> Any:
        return self.channels[name][1]

    async def join(self, who: str, channel: str) -> None:
        """Live updates reach members: the monitoring account joins the channels it watches."""
        client = self.clients[who]
        await client(functions.channels.JoinChannelRequest(await client.get_entity(channel)))

    async def post(self, who: str, channel: str, text: str) -> int:
        return int((await self.clients[who].send_message(self._channel(channel), text, link_preview=False)).id)

    async def forward(self, who: str, channel: str, source: str, message_id: int) -> int:
        sent = await self.clients[who].forward_messages(self._channel(channel), message_id, self._channel(source))
        return int(sent.id)

    async def edit(self, who: str, channel: str, message_id: int, text: str) -> int:
        return int((await self.clients[who].edit_message(self._channel(channel), message_id, text)).id)

    async def delete(self, who: str, channel: str, message_ids: list[int]) -> None:
        await self.clients[who].delete_messages(self._channel(channel), message_ids)

    async def album(self, who: str, channel: str, captions: list[str]) -> list[int]:
        files = []
        for i, _caption in enumerate(captions):
            path = self.workdir / f"photo{i}.png"
            path.write_bytes(png((40 * i % 256, 120, 200)))
            files.append(str(path))
        sent = await self.clients[who].send_file(self._channel(channel), files, caption=captions)
        return [int(m.id) for m in sent]

    # ------------------------------------------------------------ private chats
    async def send(self, who: str, to: str, text: str) -> int:
        return int((await self.clients[who].send_message(to, text)).id)

    async def click(self, who: str, chat: str, message_id: int, button: str) -> None:
        """Press an inline button under a message, as a person would."""
        message = await self.clients[who].get_messages(chat, ids=message_id)
        await message.click(text=button)

    async def message(self, who: str, peer: str, message_id: int) -> dict[str, Any]:
        """One message as `who` sees it now (after an edit, say)."""
        return message_json(await self.clients[who].get_messages(peer, ids=message_id))

    async def chat(self, who: str, peer: str, after: int = 0) -> list[dict[str, Any]]:
        """What `who` sees in the chat with `peer` after message `after`, oldest first, read from the server.

        Read, not only pushed: a missed update on the person's side must not fail a test of the bot.
        """
        history = await self.clients[who].get_messages(peer, limit=20, min_id=after)
        return [message_json(m) for m in reversed(history) if not m.out]

    # ------------------------------------------------------------ cleanup
    async def cleanup(self) -> list[str]:
        """Delete what this run made (channels, bots, 2FA passwords), then end every session of every
        account (tgmonitor's logins too). Returns what could not be undone, for the test log."""
        problems: list[str] = []
        for name, (who, channel) in list(self.channels.items()):
            try:
                await self.clients[who](functions.channels.DeleteChannelRequest(channel))
                del self.channels[name]
            except Exception as exc:  # keep going: the rest must still be cleaned
                problems.append(f"channel @{name}: {exc.__class__.__name__}: {exc}")
        for who, bot in self.bots:
            try:
                async with self.clients[who].conversation("botfather", timeout=30) as conv:
                    for line in ("/deletebot", bot, "Yes, I am totally sure."):
                        await conv.send_message(line)
                        await conv.get_response()
            except Exception as exc:
                problems.append(f"bot {bot}: {exc.__class__.__name__}: {exc}")
        for who, password in self.passwords.items():
            try:
                await self.clients[who].edit_2fa(current_password=password, new_password=None)
            except Exception as exc:
                problems.append(f"2FA of {who}: {exc.__class__.__name__}: {exc}")
        for who, client in self.clients.items():
            with contextlib.suppress(Exception):
                await client(functions.auth.ResetAuthorizationsRequest())  # tgmonitor's sessions too
            try:
                await client.log_out()
            except Exception as exc:
                problems.append(f"log out {who}: {exc.__class__.__name__}: {exc}")
        self.clients.clear()
        return problems

    async def disconnect(self) -> None:
        for client in self.clients.values():
            await client.disconnect()


async def serve(world: World) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"ok": True, "result": "ready"}), flush=True)
    while line := await reader.readline():
        request = json.loads(line)
        op = request.pop("op")
        try:
            result = await getattr(world, op)(**request)
            answer = {"ok": True, "result": result}
        except Exception as exc:  # reported to the test, which fails with it
            answer = {"ok": False, "error": f"{op}: {exc.__class__.__name__}: {exc}"}
        print(json.dumps(answer), flush=True)
    await world.disconnect()


def main() -> None:
    key = os.environ.get("TGMONITOR_LIVE_PUBLIC_KEY")
    if key:
        rsa.add_key(Path(key).read_text(), old=False)
    asyncio.run(serve(World(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()
