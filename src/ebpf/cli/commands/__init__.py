"""One module per ``ebpf`` subcommand, each with ``configure(parser)`` and ``run(args) -> int``.

Modules are imported only when their command runs, so start-up stays lean.
"""
