"""Platform adapters (Discord, Telegram): each turns commands into calls on the core."""
