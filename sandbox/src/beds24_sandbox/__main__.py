"""`python -m beds24_sandbox --port 8090`: the Beds24 sandbox as a program (tests, demo)."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from beds24_sandbox.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A faithful fake of the Beds24 API V2")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level=args.log_level, ws="none")


if __name__ == "__main__":
    main()
