"""The people around tgmonitor on the local MTProto server: a poster, an analyst, a stranger, BotFather.

Runs in the integration venv (Telethon 1.39.0) as a separate process, because the project's own venv
has a Telethon too new for the server. The test talks to it in JSON lines on stdin/stdout:
`{"op": "post", "who": "poster", "channel": "mfa_x", "text": "..."}` -> `{"ok": true, "result": ...}`.
Each account keeps one connected client; what it sees in a chat is read from the server (text, the
entities as Telegram HTML, buttons).

Only this file does what the server does differently from Telegram (see its README): accounts are
created with a raw auth.SignUpRequest, and login codes are read from the server's database.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

from telethon import TelegramClient, errors, functions
from telethon.crypto import rsa
from telethon.extensions import html
from telethon.sessions import StringSession

HOST = os.environ["PILTOVER_HOST"]
PORT = int(os.environ["PILTOVER_PORT"])
DB = os.environ["PILTOVER_DB"]
API_ID, API_HASH = 12345, "0123456789abcdef0123456789abcdef"  # the server accepts any


def login_code(phone: str) -> str | None:
    """The newest unused code the server sent to `phone` (its database, opened read-only)."""
    digits = "".join(c for c in phone if c.isdigit())
    con = sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=5)
    try:
        row = con.execute(
            "SELECT code FROM sentcode WHERE phone_number=? AND used=0 ORDER BY id DESC LIMIT 1", (digits,)
        ).fetchone()
    finally:
        con.close()
    return str(row[0]).zfill(5) if row else None


async def wait_code(phone: str) -> str:
    for _ in range(100):
        code = login_code(phone)
        if code:
            return code
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the server sent no login code to {phone}")


def tiny_png(rgb: tuple[int, int, int]) -> bytes:
    """A 1x1 PNG, enough for the server to store a photo."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes([0, *rgb])))
        + chunk(b"IEND", b"")
    )


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

    async def client(self) -> TelegramClient:
        client = TelegramClient(StringSession(), API_ID, API_HASH)
        client.session.set_dc(2, HOST, PORT)
        await client.connect()
        return client

    # ------------------------------------------------------------ accounts
    async def signup(self, who: str, phone: str, name: str, username: str | None = None) -> dict[str, Any]:
        """A new account (telethon's sign_up() is disabled: the raw request, as the server README shows)."""
        client = await self.client()
        sent = await client.send_code_request(phone)
        code = await wait_code(phone)
        try:
            await client.sign_in(phone, code, phone_code_hash=sent.phone_code_hash)
        except errors.PhoneNumberUnoccupiedError:
            result = await client(functions.auth.SignUpRequest(phone, sent.phone_code_hash, name, ""))
            await client._on_login(result.user)
        if username:
            await client(functions.account.UpdateUsernameRequest(username))
        self.clients[who] = client
        me = await client.get_me()
        return {"id": me.id, "username": me.username, "phone": me.phone}

    async def set_password(self, who: str, password: str) -> None:
        """Two-step verification, as the account's owner turns it on in the app."""
        await self.clients[who].edit_2fa(new_password=password)

    async def newbot(self, who: str, name: str, username: str) -> str:
        """Ask the server's BotFather for a bot, as a person would; returns the token."""
        client = self.clients[who]
        async with client.conversation("botfather", timeout=15) as conv:
            for line in ("/newbot", name, username):
                await conv.send_message(line)
                reply = await conv.get_response()
        match = re.search(r"\b(\d+:[A-Za-z0-9_-]{20,})", reply.raw_text)
        if not match:
            raise RuntimeError(f"BotFather did not give a token: {reply.raw_text!r}")
        return match.group(1)

    # ------------------------------------------------------------ channels
    async def create_channel(self, who: str, title: str, username: str) -> int:
        result = await self.clients[who](functions.channels.CreateChannelRequest(title=title, about="", broadcast=True))
        channel = result.chats[0]
        await self.clients[who](functions.channels.UpdateUsernameRequest(channel, username))
        self.channels[username] = channel
        return int(channel.id)

    async def join(self, who: str, channel: str) -> None:
        """Live updates reach members: the monitoring account joins the channels it watches."""
        client = self.clients[who]
        await client(functions.channels.JoinChannelRequest(await client.get_entity(channel)))

    async def post(self, who: str, channel: str, text: str) -> int:
        return int((await self.clients[who].send_message(self.channels[channel], text, link_preview=False)).id)

    async def forward(self, who: str, channel: str, source: str, message_id: int) -> int:
        sent = await self.clients[who].forward_messages(self.channels[channel], message_id, self.channels[source])
        return int(sent.id)

    async def edit(self, who: str, channel: str, message_id: int, text: str) -> int:
        return int((await self.clients[who].edit_message(self.channels[channel], message_id, text)).id)

    async def delete(self, who: str, channel: str, message_ids: list[int]) -> None:
        await self.clients[who].delete_messages(self.channels[channel], message_ids)

    async def album(self, who: str, channel: str, captions: list[str]) -> list[int]:
        files = []
        for i, _caption in enumerate(captions):
            path = self.workdir / f"photo{i}.png"
            path.write_bytes(tiny_png((40 * i % 256, 120, 200)))
            files.append(str(path))
        sent = await self.clients[who].send_file(self.channels[channel], files, caption=captions)
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
    rsa.add_key(Path(os.environ["PILTOVER_PUBKEY"]).read_text(), old=False)
    asyncio.run(serve(World(Path(sys.argv[1]))))


if __name__ == "__main__":
    main()
