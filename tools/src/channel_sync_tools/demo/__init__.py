"""`make demo` (`python -m channel_sync_tools.demo`): the whole system end to end, with the
evidence printed. The scenarios live one module each; `__main__` runs them in order."""
