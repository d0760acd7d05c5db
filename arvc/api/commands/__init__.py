"""One module per CLI command. Each defines ``run(args) -> int``; its flags
are its option table (:mod:`arvc.api.tables`), from which :func:`arvc.api.cli.build_parser` builds the parser.

A command module only parses flags into the stage's typed config and calls the stage
function in ``arvc.stages``; heavy imports happen inside ``run``.
"""
