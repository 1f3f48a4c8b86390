"""The ``fastact`` command (and ``python -m fastact``).

    fastact                     what is installed, the configuration, a quick speed check
    fastact list [--json]       every registered activation and its properties
    fastact check [NAME...]     accuracy against a float64 reference, gradients by finite differences
    fastact bench [NAME...]     time forward and backward against NumPy and PyTorch
    fastact plot [NAME...]      a PNG per activation and a gallery (needs matplotlib)

Design
------
* Every subcommand is a module of this package with ``add_arguments(parser)`` and
  ``run(args) -> int``; this file only parses and dispatches.
* Every subcommand covers every registered activation, plugins included: it goes
  through ``fastact.available()`` / ``fastact.get()``, never through the catalog.
* A mistake of the user (unknown name, bad option, a missing optional dependency)
  is a ``UsageError``: one line on stderr, exit status 2, no traceback. A failed check
  is exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from fastact.cli.common import UsageError

# subcommand -> (module, one-line help)
SUBCOMMANDS = {
    "list": ("fastact.cli.listing", "a table of every activation (built-in and plugin)"),
    "check": ("fastact.cli.check", "verify activations against a float64 reference; exit 1 on failure"),
    "bench": ("fastact.cli.bench", "time forward and backward against NumPy and PyTorch"),
    "plot": ("fastact.cli.plot", "a PNG per activation and a gallery (needs matplotlib)"),
}


class Parser(argparse.ArgumentParser):
    """argparse, except that a usage error is one line (and exit status 2)."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def make_parser() -> Parser:
    parser = Parser(prog="fastact", description="Explore and verify fastact's activations. "
                    "Without a subcommand: what is installed and a quick speed check.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (module, help_text) in SUBCOMMANDS.items():
        command = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=command.__doc__.split("\n\n")[0])
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: sys.argv[1:]); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if not argv:
            from fastact.cli import overview
            return overview.run(None)
        args = make_parser().parse_args(argv)
        if args.command is None:
            raise UsageError("no command given (see 'fastact --help')")
        return args.run(args)
    except UsageError as exc:
        print(f"fastact: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastact: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:          # `fastact list | head`
        sys.stderr.close()
        return 0


def console_main():
    """The ``fastact`` console script."""
    sys.exit(main())
