"""One module per CLI command. Each defines ``add_arguments(parser)`` and ``run(args) -> int``.

A command module only parses flags into the stage's typed config and calls the stage
function in ``arvc.stages``; heavy imports happen inside ``run``.
"""
