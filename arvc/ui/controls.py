"""Gradio controls built from the option tables of :mod:`arvc.api.options` (the same ones argparse uses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def control(opt: Option, default: Any, elem_id: str | None = None) -> Any:
    """One Gradio component for ``opt``: checkbox, dropdown, slider, number or textbox."""
    label, info = opt.dest, opt.help
    kw = {"elem_id": elem_id}
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
    if opt.range and opt.numeric and None not in opt.range:
        lo, hi = opt.range
        step = 1 if opt.type is int else (0.01 if hi - lo <= 1 else 0.1 if hi - lo <= 10 else 1)
        return gr.Slider(lo, hi, value=default if default is not None else lo, step=step, label=label, info=info, **kw)
    if opt.type in (int, float) and default is None:  # empty = the command's own default (a Number shows 0)
        return gr.Textbox(value="", label=label, info=info, placeholder="default", **kw)
    if opt.numeric:
        lo, hi = opt.range or (None, None)
        return gr.Number(value=default, label=label, info=info, precision=0 if opt.type is int else None,
                         minimum=lo, maximum=hi, **kw)
    return gr.Textbox(value=default or "", label=label, info=info, **kw)


def build_controls(options: CommandOptions, skip: tuple[str, ...] = (), columns: int = 3) -> Controls:
    """Controls for every option of ``options`` shown in the UI (and not in ``skip``), ``columns`` per row; the
    ``ui="advanced"`` ones in a closed "Advanced" accordion below."""
    shown = [o for o in options.options if o.ui is True and not o.positional and o.dest not in skip]
    advanced = [o for o in options.options if o.ui == "advanced" and o.dest not in skip]
    components = _rows(options, shown, columns)
    if advanced:
        with gr.Accordion(f"Advanced ({options.command})", open=False):
            components.update(_rows(options, advanced, columns))
    return Controls(options, components)


def _rows(options: CommandOptions, shown: list[Option], columns: int) -> dict[str, Any]:
    components: dict[str, Any] = {}
    for i in range(0, len(shown), columns):
        with gr.Row():
            for opt in shown[i:i + columns]:
                components[opt.dest] = control(opt, opt.default_from(options.config),
                                               elem_id=f"{options.command}-{opt.dest}")
    return components
