"""A conversion tab's so-vits-svc controls: the options of family ``so-vits-svc`` in the command's table (speaker,
cluster ratio, noise scale), shown only while a so-vits voice is chosen and passed to the command only then.

The speaker choice sits beside the voice (its choices: the voice's ``spk`` names, read from its ``config.json``);
the others go in the tab's Advanced section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from arvc.api.optionspec import CommandOptions
from arvc.library.voice_kind import SOVITS, voice_kind
from arvc.ui.controls import Controls, build_controls, control


def speaker_update(model: str | None, current: str | None = None) -> dict[str, Any]:
    """The speaker dropdown for ``model``: its speakers (the current one kept while it is one of them, else the
    first), visible for a so-vits voice only."""
    kind = voice_kind(model)
    if kind.family != SOVITS:
        return gr.update(visible=False, choices=[], value=None)
    value = current if current in kind.speakers else (kind.speakers[0] if kind.speakers else None)
    return gr.update(visible=True, choices=list(kind.speakers), value=value)


@dataclass
class SovitsControls:
    """``speaker`` (a dropdown), ``more`` (the Advanced ones) inside the ``box`` group."""

    table: CommandOptions
    speaker: Any
    box: Any
    more: Controls

    @classmethod
    def speaker_choice(cls, table: CommandOptions, model: str | None, elem_id: str):
        """Build the speaker dropdown (in the current row), set up for ``model``."""
        upd = speaker_update(model)
        return control(table.get("speaker"), upd["value"], elem_id=elem_id, table=table, visible=upd["visible"],
                       choices=upd["choices"])

    @classmethod
    def build(cls, table: CommandOptions, speaker, model: str | None) -> SovitsControls:
        """The Advanced part (call inside the Advanced section); ``speaker`` from :meth:`speaker_choice`."""
        with gr.Group(visible=voice_kind(model).family == SOVITS) as box:
            gr.Markdown("so-vits-svc voice")
            more = build_controls(table, skip=("speaker",), family=SOVITS, advanced=False)
        return cls(table, speaker, box, more)

    def inputs(self) -> list[Any]:
        return [self.speaker, *self.more.inputs()]

    def values(self, model: str | None, raw: list[Any] | tuple[Any, ...]) -> dict[str, Any]:
        """``{dest: value}`` for the command: nothing for an RVC voice (a speaker left from an earlier so-vits
        choice is not sent)."""
        if voice_kind(model).family != SOVITS:
            return {}
        return {"speaker": raw[0] or None, **self.more.values(raw[1:])}

    def follow(self, voice) -> None:
        """Show, hide and fill these controls whenever ``voice`` changes."""

        def on_voice(model, current):
            return speaker_update(model, current), gr.update(visible=voice_kind(model).family == SOVITS)

        voice.change(on_voice, inputs=[voice, self.speaker], outputs=[self.speaker, self.box], api_name=False)
