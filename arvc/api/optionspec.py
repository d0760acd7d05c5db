"""What an option table is: :class:`Option` (one flag) and :class:`CommandOptions` (one command's flags), and the
argparse parser, the argv and the web UI's controls built from them.

Argparse is used through its public API only: each ``--a_b`` flag also answers to ``--a-b`` through a second,
hidden argument with the same ``dest``; required options and ranges are checked here, so a bad value is one
line (a number out of range raises :class:`~arvc.errors.ArvcError`: exit code 1, like every other bad input).

Importing this module imports no torch and no command table.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from arvc.api.argtypes import str2bool
from arvc.errors import ArvcError

_UNSET: Any = object()


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    """Case-insensitive choice parser (``--cut_method automatic`` is ``Automatic``)."""

    def parse(value: str) -> str:
        for c in choices:
            if value.strip().lower() == str(c).lower():
                return c
        raise argparse.ArgumentTypeError(f"invalid choice {value!r} (choose from {', '.join(map(str, choices))})")

    return parse


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def other_spelling(flag: str) -> str:
    """``--a_b`` <-> ``--a-b``."""
    body = flag[2:]
    return "--" + (body.replace("_", "-") if "_" in body else body.replace("-", "_"))


@dataclass(frozen=True)
class Option:
    """One flag (or positional argument) of one command.

    flags: spellings, the first long one is canonical (``("--rms_mix_rate", "--volume_envelope")``); a name without
        dashes is a positional argument.
    type: ``bool``, ``int``, ``float`` or ``str`` (booleans accept ``--x``, ``--x true``, ``--x false``; with
        ``switch=True`` only ``--x``).
    field: the config dataclass field this option fills (None: used by the command itself).
    choices: allowed values; ``strict=False`` lists suggestions only (e.g. F0 methods also accept hybrid[a+b]).
    range: (low, high) of a number, either end None for no bound; checked on the command line, the web UI shows
        a slider when both ends are set.
    ui: whether the web UI shows a control for it (``"advanced"``: in a closed "Advanced" section).
    label: the web UI's label (default: the name in words).
    parse: converts the command-line text when ``type`` alone cannot (e.g. a level in dB or ``off``).
    metavar: the value's name(s) in ``--help`` (e.g. ``("IN", "OUT")`` for ``nargs=2``).
    applio: Applio's spellings of this option (``pth_path`` for ``--model``), translated by :mod:`arvc.api.applio`.
    widget: ``"text"`` makes the web UI show a text box (a level that may also be ``off``); ``"choices"`` a
        dropdown whose choices the page fills in (a voice's speakers), a value may also be typed.
    family: the voice family (``"so-vits-svc"``) whose web UI controls these are: shown only while such a voice is
        chosen, and built apart from the others (``build_controls(..., family=...)``).
    """

    flags: tuple[str, ...]
    type: type = str
    help: str = ""
    default: Any = _UNSET
    choices: tuple | None = None
    strict: bool = True
    group: str = ""
    field: str | None = _UNSET
    nargs: str | int | None = None
    range: tuple[float | None, float | None] | None = None
    required: bool = False
    case_insensitive: bool = False
    ui: bool | str = True
    label: str = ""
    parse: Callable[[str], Any] | None = None
    metavar: str | tuple[str, ...] | None = None
    switch: bool = False
    applio: tuple[str, ...] = ()
    widget: str = ""
    family: str = ""

    def __post_init__(self) -> None:
        if self.range is None and self.numeric and self.choices and self.strict:  # a number from a list
            object.__setattr__(self, "range", (min(self.choices), max(self.choices)))

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-")

    @property
    def flag(self) -> str:
        """The canonical spelling: the first long flag (``--model`` of ``-m, --model``)."""
        return next((f for f in self.flags if f.startswith("--")), self.flags[0])

    @property
    def positional(self) -> bool:
        return not self.flags[0].startswith("-")

    @property
    def numeric(self) -> bool:
        return self.type in (int, float)

    @property
    def own_default(self) -> bool:
        """Whether the option sets its default itself instead of taking the config field's."""
        return self.default is not _UNSET

    @property
    def title(self) -> str:
        """The web UI's label: ``label``, else the name in words (``index_rate`` -> ``index rate``)."""
        return self.label or self.dest.replace("_", " ")

    def config_field(self) -> str | None:
        return self.dest if self.field is _UNSET else self.field

    def default_from(self, config: type | None) -> Any:
        if self.default is not _UNSET:
            return self.default
        name = self.config_field()
        if config is not None and name is not None:
            for f in dataclasses.fields(config):
                if f.name == name:
                    if f.default is not dataclasses.MISSING:
                        return f.default
                    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                        return f.default_factory()  # type: ignore[misc]
        return False if self.type is bool else None

    def check_range(self, value: Any) -> None:
        """Raise :class:`ArvcError` (one line naming the flag) when a number lies outside ``range``."""
        if self.range is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        lo, hi = self.range
        if (lo is None or value >= lo) and (hi is None or value <= hi):
            return
        want = (f"between {_num(lo)} and {_num(hi)}" if lo is not None and hi is not None
                else f">= {_num(lo)}" if lo is not None else f"<= {_num(hi)}")
        raise ArvcError(f"{self.flag} must be {want}, got {_num(value)}")

    def _converter(self) -> Callable[[str], Any]:
        conv: Callable[[str], Any] = self.parse or self.type
        if self.choices and self.strict and self.case_insensitive:
            conv = _choice(self.choices)
        if self.range is None:
            return conv

        def ranged(text: str) -> Any:
            value = conv(text)
            self.check_range(value)
            return value

        ranged.__name__ = getattr(conv, "__name__", self.type.__name__)
        return ranged

    def argparse_kwargs(self, config: type | None) -> dict[str, Any]:
        """Keyword arguments of ``add_argument`` (``required`` is checked by :class:`OptionParser`)."""
        kw: dict[str, Any] = {"default": self.default_from(config), "help": self.help}
        if self.type is bool and self.switch:
            return {**kw, "action": "store_true"}
        if self.type is bool:
            return {**kw, "nargs": "?", "const": True, "type": str2bool, "metavar": "BOOL"}
        kw["type"] = self._converter()
        for key in ("nargs", "metavar"):
            if getattr(self, key) is not None:
                kw[key] = getattr(self, key)
        if self.choices and self.strict:
            if self.case_insensitive:
                kw["metavar"] = "{" + ",".join(map(str, self.choices)) + "}"
            else:
                kw["choices"] = self.choices
        return kw

    def add_to(self, parser, config: type | None, taken: set[str]) -> None:
        """Add this option to ``parser`` (or a group of it); ``taken``: every flag of the command, so a second
        spelling never shadows another option's flag."""
        kw = self.argparse_kwargs(config)
        if self.positional:
            parser.add_argument(self.flags[0], **kw)
            return
        hidden = [other_spelling(f) for f in self.flags if f.startswith("--") and any(c in f[2:] for c in "-_")]
        hidden = [f for f in hidden if f not in taken]
        if self.required and not hidden:
            kw["required"] = True
        elif self.required:  # either spelling satisfies it: OptionParser checks
            kw["help"] = f"{kw['help']} (required)"
        parser.add_argument(*self.flags, dest=self.dest, **kw)
        if hidden:
            parser.add_argument(*hidden, dest=self.dest, **{**kw, "default": argparse.SUPPRESS,
                                                           "help": argparse.SUPPRESS, "required": False})


class OptionParser(argparse.ArgumentParser):
    """An argparse parser that checks the table's required options itself (so either spelling satisfies them) and
    reports a bad command line in one line (exit code 2), without the usage text."""

    def __init__(self, *args, required: tuple[Option, ...] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.required_options = required

    def parse_known_args(self, args=None, namespace=None):
        ns, extra = super().parse_known_args(args, namespace)
        missing = [o for o in self.required_options if getattr(ns, o.dest, None) in (None, [])]
        if missing:
            self.error("the following arguments are required: " + ", ".join("/".join(o.flags) for o in missing))
        return ns, extra

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


@dataclass(frozen=True)
class CommandOptions:
    """The options of one command and the config dataclass their defaults come from.

    ``subcommands``: the second word of commands such as ``arvc download model|pretrain`` (each a
    :class:`CommandOptions` named after it; the chosen name lands in ``args.<sub_dest>``).
    """

    command: str
    options: tuple[Option, ...] = ()
    config: type | None = None
    help: str = ""
    epilog: str | None = None
    subcommands: tuple[CommandOptions, ...] = ()
    sub_dest: str = "action"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        taken = {f for o in self.options for f in o.flags} | {"-h", "--help"}
        groups: dict[str, Any] = {}
        for opt in self.options:
            target = parser
            if opt.group:
                target = groups.get(opt.group) or groups.setdefault(opt.group, parser.add_argument_group(opt.group))
            opt.add_to(target, self.config, taken)
        if self.subcommands:
            sub = parser.add_subparsers(dest=self.sub_dest, required=True, metavar=self.sub_dest,
                                        parser_class=OptionParser)
            for s in self.subcommands:
                p = sub.add_parser(s.name, help=s.help, description=s.help, epilog=s.epilog,
                                   required=tuple(o for o in s.options if o.required))
                s.add_arguments(p)

    def parser(self, prog: str | None = None, description: str | None = None) -> OptionParser:
        """The whole argparse parser of this command."""
        parser = OptionParser(prog=prog or f"arvc {self.command}", description=description or self.help,
                              epilog=self.epilog, required=tuple(o for o in self.options if o.required))
        self.add_arguments(parser)
        return parser

    @property
    def name(self) -> str:
        """The last word of ``command`` (``pretrain`` of ``download pretrain``)."""
        return self.command.split()[-1]

    def all_options(self) -> list[Option]:
        """This command's options and those of its subcommands."""
        return [*self.options, *(o for s in self.subcommands for o in s.all_options())]

    def sub(self, name: str) -> CommandOptions:
        for s in self.subcommands:
            if s.name == name:
                return s
        raise KeyError(f"{self.command} has no subcommand {name!r}")

    def config_kwargs(self, args: argparse.Namespace) -> dict[str, Any]:
        """``{config field: parsed value}`` for every option that fills a config field."""
        return {o.config_field(): getattr(args, o.dest) for o in self.options if o.config_field() is not None}

    def defaults(self) -> dict[str, Any]:
        return {o.dest: o.default_from(self.config) for o in self.options}

    def get(self, dest: str) -> Option:
        for o in self.options:
            if o.dest == dest:
                return o
        raise KeyError(dest)

    def without(self, *dests: str) -> tuple[Option, ...]:
        """The options minus those named (for a command that takes over another's options)."""
        return tuple(o for o in self.options if o.dest not in dests)

    def to_argv(self, values: dict[str, Any]) -> list[str]:
        """The CLI arguments that reproduce ``values`` (``{dest: value}``); unset (None / "") values are left out.
        Unknown names are an error (a typo would otherwise be dropped silently)."""
        unknown = set(values) - {o.dest for o in self.options}
        if unknown:
            raise KeyError(f"{self.command}: no option {', '.join(sorted(unknown))}")
        argv: list[str] = []
        positionals: list[str] = []
        for o in self.options:
            if o.dest in values and not self._unset(o, values[o.dest]):
                (positionals if o.positional else argv).extend(_tokens(o, values[o.dest]))
        return [*argv, "--", *positionals] if positionals else argv  # after "--" no value is read as an option

    def _unset(self, o: Option, v: Any) -> bool:
        if v is None or (isinstance(v, (list, tuple)) and not v):
            return True
        if isinstance(v, str) and v == "":
            return o.type is not str or o.default_from(self.config) in (None, "")
        return o.type is bool and o.switch and not v


def _tokens(o: Option, v: Any) -> list[str]:
    if o.positional:
        return [*map(str, v)] if isinstance(v, (list, tuple)) else [str(v)]
    if o.type is bool:
        return [o.flag] if o.switch else [o.flag, "true" if v else "false"]
    if isinstance(v, (list, tuple)):
        return [o.flag, *map(str, v)]
    if o.type is int and isinstance(v, float) and v.is_integer():
        v = int(v)
    if o.type is str and str(v).startswith("-"):  # "--name=-x": a value that looks like a flag stays a value
        return [f"{o.flag}={v}"]
    return [o.flag, str(v)]


def opt(*flags: str, **kw) -> Option:
    """``Option(flags, **kw)`` written as ``opt("-m", "--model", help=...)``."""
    return Option(tuple(flags), **kw)
