def main() -> None:  # placeholder until the sandbox lands
    raise SystemExit("not yet")
