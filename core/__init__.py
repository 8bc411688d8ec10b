"""Platform-neutral core of imagine-bot: it imports no chat SDK (see tests/test_architecture.py)."""
