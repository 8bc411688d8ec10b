"""The Discord adapter: slash commands and buttons in, job events out (discord.py 2.x)."""

PLATFORM = "discord"
