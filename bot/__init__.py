"""imagine-bot's outer layer: settings, logging, the composition root and the command."""
