"""Gradio controls built from the option tables of :mod:`arvc.api.options` (the same ones argparse uses)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import gradio as gr

from arvc.api.optionspec import CommandOptions, Option
from arvc.api.tables import argv_for


@dataclass
class Controls:
    """The controls of one command's options, in table order: ``dest -> component``."""

    options: CommandOptions
    components: dict[str, Any]

    def inputs(self) -> list[Any]:
        return list(self.components.values())

    def values(self, raw: list[Any] | tuple[Any, ...]) -> dict[str, Any]:
        """``{dest: value}`` of the values Gradio passes for :meth:`inputs` (same order)."""
        return dict(zip(self.components, raw))

    def argv(self, raw: list[Any] | tuple[Any, ...], **fixed: Any) -> list[str]:
        """CLI arguments of the control values plus ``fixed`` (e.g. ``model_name=``), in table order."""
        return self.options.to_argv({**self.values(raw), **fixed})

    def command_argv(self, raw: list[Any] | tuple[Any, ...], **fixed: Any) -> list[str]:
        """The whole ``arvc`` command line (command name first) of the control values plus ``fixed``."""
        return argv_for(self.options.command, {**self.values(raw), **fixed})


_FLAG = re.compile(r"--([a-z][a-z0-9_]*)")


def page_words(text: str, options: Iterable[CommandOptions] = ()) -> str:
    """``text`` with each ``--flag`` replaced by the field's label on the page ("index rate"), and the
    terminal-only advice (``arvc prerequisites``) by where the page offers it."""
    titles = {o.dest: o.title for table in options for o in table.options}

    def field(m: re.Match) -> str:
        return f"“{titles.get(m.group(1), m.group(1).replace('_', ' '))}”"

    text = re.sub(r"(run )?`?arvc prerequisites[^`;,)]*`?", "the Downloads tab", text)
    return _FLAG.sub(field, text)


def control(opt: Option, default: Any, elem_id: str | None = None, table: CommandOptions | None = None,
            **extra: Any) -> Any:
    """One Gradio component for ``opt``: checkbox, dropdown, slider, number or textbox, labelled in words;
    ``extra``: more keyword arguments of the component (``visible=False``)."""
    label, info = opt.title[:1].upper() + opt.title[1:], page_words(opt.help, [table] if table else [])
    kw = {"elem_id": elem_id, **extra}
    if opt.widget == "choices":  # the page fills the choices in (e.g. the chosen voice's speakers)
        return gr.Dropdown(**{"choices": [], **kw}, value=default, label=label, info=info, allow_custom_value=True)
    if opt.type is bool:
        return gr.Checkbox(value=bool(default), label=label, info=info, **kw)
    if opt.choices:
        choices = list(opt.choices)
        if default is not None and default not in choices:
            choices.insert(0, default)
        return gr.Dropdown(choices=choices, value=default, label=label, info=info,
                           allow_custom_value=not opt.strict, **kw)
    if opt.widget == "text":
        return gr.Textbox(value="" if default is None else str(default), label=label, info=info, **kw)
    if opt.type in (int, float) and default is None:  # empty = the command's own default (a slider shows a number)
        return gr.Textbox(value="", label=label, info=info, placeholder="default", **kw)
    if opt.range and opt.numeric and None not in opt.range:
        lo, hi = opt.range
        step = 1 if opt.type is int else (0.01 if hi - lo <= 1 else 0.1 if hi - lo <= 10 else 1)
        return gr.Slider(lo, hi, value=default, step=step, label=label, info=info, **kw)
    if opt.numeric:
        lo, hi = opt.range or (None, None)
        return gr.Number(value=default, label=label, info=info, precision=0 if opt.type is int else None,
                         minimum=lo, maximum=hi, **kw)
    return gr.Textbox(value=default or "", label=label, info=info, **kw)


def build_controls(options: CommandOptions, skip: tuple[str, ...] = (), columns: int = 3,
                   defaults: dict[str, Any] | None = None, only: tuple[str, ...] | None = None,
                   advanced: bool = True, family: str = "") -> Controls:
    """Controls for every option of ``options`` shown in the UI (not in ``skip``; only those in ``only`` when
    given), ``columns`` per row, ``defaults`` overriding the table's; the ``ui="advanced"`` ones in a closed
    "More" accordion below (or inline with ``advanced=False``). ``family``: the options of that voice family
    (``Option.family``) instead of the general ones."""
    keep = [o for o in options.options if not o.positional and o.dest not in skip and o.family == family
            and (only is None or o.dest in only)]
    shown = [o for o in keep if o.ui is True or (o.ui == "advanced" and not advanced)]
    hidden = [o for o in keep if o.ui == "advanced" and advanced]
    components = _rows(options, shown, columns, defaults or {})
    if hidden:
        with gr.Accordion(f"More ({options.command})", open=False, elem_id=f"{options.command}-more"):
            components.update(_rows(options, hidden, columns, defaults or {}))
    return Controls(options, components)


def _rows(options: CommandOptions, shown: list[Option], columns: int, defaults: dict[str, Any]) -> dict[str, Any]:
    components: dict[str, Any] = {}
    for i in range(0, len(shown), columns):
        with gr.Row():
            for opt in shown[i:i + columns]:
                default = defaults[opt.dest] if opt.dest in defaults else opt.default_from(options.config)
                components[opt.dest] = control(opt, default, elem_id=f"{options.command}-{opt.dest}", table=options)
    return components
