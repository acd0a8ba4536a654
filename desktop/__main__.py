"""`python -m desktop` and the `margin` command."""

from __future__ import annotations

import argparse
import importlib.metadata
import sys

from desktop import paths


def _version() -> str:
    try:
        return importlib.metadata.version("margin")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="margin",
        description="Margin: private notes and web cutouts that tag themselves.",
    )
    parser.add_argument("--version", action="version", version=f"margin {_version()}")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"where notes and logs are kept (default: ${paths.DATA_DIR_ENV}, "
        "else your user data folder)",
    )
    args = parser.parse_args(argv)

    from desktop import app

    return app.run(paths.data_dir(args.data_dir))


if __name__ == "__main__":
    sys.exit(main())
