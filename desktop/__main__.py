"""`python -m desktop` and the `margin` command.

    margin [--data-dir DIR]                                 the app
    margin [--data-dir DIR] import PATH                     notes in, without the window
    margin [--data-dir DIR] export --format markdown|json DIR   notes out
    margin [--data-dir DIR] backup                          a backup now; prints its path
    margin [--data-dir DIR] restore [FILE]                  a backup back (default: newest good)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from desktop import about, paths


def _data_dir_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=default,
        help=f"where notes and logs are kept (default: ${paths.DATA_DIR_ENV}, "
        "else your user data folder)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="margin",
        description="Margin: private notes and web cutouts that tag themselves.",
    )
    parser.add_argument("--version", action="version", version=f"margin {about.version()}")
    _data_dir_option(parser, None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    importing = commands.add_parser(
        "import",
        help="import notes: a folder of Markdown files, an Evernote .enex file, "
        "or a Margin .json export",
    )
    importing.add_argument("path", type=Path)
    exporting = commands.add_parser("export", help="write every note into a folder")
    exporting.add_argument("--format", required=True, choices=("markdown", "json"))
    exporting.add_argument("directory", type=Path)
    backing_up = commands.add_parser(
        "backup", help="write a backup of the notes database now and print its path"
    )
    restoring = commands.add_parser(
        "restore",
        help="put back a backup (default: the newest good one); the notes it replaces "
        "are kept as a backup",
    )
    restoring.add_argument(
        "file", type=Path, nargs="?", help="a backup file, or a backup's name in backups/"
    )
    # Also after the command; given there, it wins.
    for command in (importing, exporting, backing_up, restoring):
        _data_dir_option(command, argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data = paths.data_dir(args.data_dir)

    if args.command == "import":
        from desktop import cli

        return cli.run_import(data, args.path)
    if args.command == "export":
        from desktop import cli

        return cli.run_export(data, args.format, args.directory)
    if args.command == "backup":
        from desktop import cli

        return cli.run_backup(data)
    if args.command == "restore":
        from desktop import cli

        return cli.run_restore(data, args.file)

    from desktop import app

    return app.run(data)


if __name__ == "__main__":
    sys.exit(main())
