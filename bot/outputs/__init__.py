"""Outputs: the `MessageSender` interface and its console/file implementations (Telegram: bot.outputs.telegram)."""

from bot.outputs.base import MessageSender
from bot.outputs.console import ConsoleSender, FileSender, console_chat_id, output_sender

__all__ = ["ConsoleSender", "FileSender", "MessageSender", "console_chat_id", "output_sender"]
