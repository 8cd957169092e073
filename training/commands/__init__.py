"""The subcommands of `catgpt-train`, one module each."""
