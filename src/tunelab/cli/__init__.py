"""The `tunelab` command."""
