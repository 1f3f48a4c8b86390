"""fastact check: (being written)."""


def add_arguments(parser):
    parser.add_argument("names", nargs="*", metavar="NAME")


def run(args):
    raise NotImplementedError
