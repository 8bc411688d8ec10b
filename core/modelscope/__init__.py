"""The ModelScope API-Inference client: submit, poll, download (see shared/MODELSCOPE_API.md)."""
