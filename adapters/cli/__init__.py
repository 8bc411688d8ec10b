"""The terminal's adapter: jobs queued with `imagine-bot enqueue`, events to a JSONL file."""
