"""The ``bulkqa`` command: ``demo``, ``analyze``, ``invoke`` and ``serve``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bulkqa", description="bulk-label-qa: check, at volume, the labels your model assigned."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    from . import analyze_cmd, demo, invoke_cmd, serve

    demo_parser = commands.add_parser("demo", help="run the whole workflow locally on a labels CSV")
    demo.add_arguments(demo_parser)
    demo_parser.set_defaults(run=demo.run)
    analyze_parser = commands.add_parser("analyze", help="analyse a CSV export of the labels table, without AWS")
    analyze_cmd.add_arguments(analyze_parser)
    analyze_parser.set_defaults(run=analyze_cmd.run)
    invoke_parser = commands.add_parser(
        "invoke", help="run one function with an event from events/ (like sam local invoke)"
    )
    invoke_cmd.add_arguments(invoke_parser)
    invoke_parser.set_defaults(run=invoke_cmd.run)
    serve_parser = commands.add_parser(
        "serve", help="the local stack with the self-hosted reviewer page on 127.0.0.1, for people to review"
    )
    serve.add_arguments(serve_parser)
    serve_parser.set_defaults(run=serve.run)
    args = parser.parse_args(argv)
    from .moto_speedups import MotoVersionError

    try:
        return int(args.run(args))
    except MotoVersionError as exc:  # the local cloud refused to start: say what to do, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
