"""Sound devices through PortAudio (``sounddevice``, imported only here and only when live audio is used)."""

from __future__ import annotations

from dataclasses import dataclass, field

from arvc.errors import ArvcError

NO_DEVICES = "no audio devices found"


def _sd():
    try:
        import sounddevice
    except ImportError as e:
        raise ArvcError(f"live audio needs the sounddevice package and PortAudio (pip install sounddevice; "
                        f"apt-get install libportaudio2): {str(e).splitlines()[0]}") from None
    except OSError as e:  # sounddevice raises OSError when the PortAudio library is missing
        raise ArvcError(f"PortAudio library not found (apt-get install libportaudio2): {str(e).splitlines()[0]}") from None
    return sounddevice


@dataclass(frozen=True)
class DeviceChoices:
    """The devices a picker offers: ``(index, name)`` per kind, the system defaults, and why there are none."""

    inputs: list[tuple[int, str]] = field(default_factory=list)
    outputs: list[tuple[int, str]] = field(default_factory=list)
    default_input: int | None = None
    default_output: int | None = None
    problem: str | None = None  # e.g. "no audio devices found (PortAudio library not found ...)"


def device_choices() -> DeviceChoices:
    """The input and output devices; never raises (a missing PortAudio or no devices is ``problem``)."""
    try:
        sd = _sd()
        devices = list(sd.query_devices())
        d_in, d_out = sd.default.device
    except ArvcError as e:
        return DeviceChoices(problem=f"{NO_DEVICES} ({e})")
    except Exception as e:  # PortAudio errors while querying
        return DeviceChoices(problem=f"{NO_DEVICES} ({str(e).splitlines()[0] if str(e) else type(e).__name__})")
    inputs = [(i, d["name"]) for i, d in enumerate(devices) if d["max_input_channels"] > 0]
    outputs = [(i, d["name"]) for i, d in enumerate(devices) if d["max_output_channels"] > 0]
    problem = None
    if not inputs or not outputs:
        problem = NO_DEVICES if not devices else f"{NO_DEVICES}: no {'input' if not inputs else 'output'} device"
    return DeviceChoices(inputs, outputs, d_in if any(i == d_in for i, _ in inputs) else None,
                         d_out if any(i == d_out for i, _ in outputs) else None, problem)


def list_devices() -> str:
    """One line per device: index, name, input/output channels, default rate (``*`` marks the defaults)."""
    sd = _sd()
    devices = sd.query_devices()
    if not len(devices):
        return NO_DEVICES
    d_in, d_out = sd.default.device
    lines = []
    for i, d in enumerate(devices):
        mark = ("<" if i == d_in else " ") + (">" if i == d_out else " ")
        lines.append(f"{mark}{i:3d}  {d['name']}  (in {d['max_input_channels']}, out {d['max_output_channels']}, "
                     f"{d['default_samplerate']:.0f} Hz)")
    return "\n".join(lines)


def resolve_device(spec: str | int | None, kind: str) -> int:
    """Device index for ``spec`` (index, exact or partial name, None = default) that has ``kind`` channels."""
    sd = _sd()
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    devices = list(sd.query_devices())
    if not devices:
        raise ArvcError(f"{NO_DEVICES} (use --simulate IN OUT to stream a file instead)")
    if spec is None or spec == "":
        idx = sd.default.device[0 if kind == "input" else 1]
        if idx is None or idx < 0 or idx >= len(devices):
            raise ArvcError(f"no default {kind} device (see arvc realtime --list_devices)")
    elif str(spec).isdigit():
        idx = int(spec)
        if idx >= len(devices):
            raise ArvcError(f"--{kind}_device {spec}: no such device ({len(devices)} device(s); see --list_devices)")
    else:
        hits = [i for i, d in enumerate(devices) if str(spec).lower() in d["name"].lower()]
        if not hits:
            raise ArvcError(f"--{kind}_device {spec!r}: no device of that name (see --list_devices)")
        idx = next((i for i in hits if devices[i][key] > 0), hits[0])
    if devices[idx][key] < 1:
        raise ArvcError(f"--{kind}_device {spec if spec is not None else idx}: {devices[idx]['name']!r} has no {kind} channels")
    return idx


def open_stream(input_device, output_device, sample_rate: int, blocksize: int, callback):
    """A started-later duplex float32 mono stream; ``callback(indata (n,)) -> outdata (n,)``.

    The rate is checked with PortAudio first, so a refused rate is one clear error.
    """
    sd = _sd()
    i_dev, o_dev = resolve_device(input_device, "input"), resolve_device(output_device, "output")
    try:
        sd.check_input_settings(device=i_dev, channels=1, dtype="float32", samplerate=sample_rate)
        sd.check_output_settings(device=o_dev, channels=1, dtype="float32", samplerate=sample_rate)
    except Exception as e:
        raise ArvcError(f"--sample_rate {sample_rate}: refused by the device ({str(e).splitlines()[0]})") from None

    def _cb(indata, outdata, frames, time_info, status):
        outdata[:, 0] = callback(indata[:, 0])

    try:
        return sd.Stream(device=(i_dev, o_dev), samplerate=sample_rate, blocksize=blocksize, channels=1,
                         dtype="float32", latency="low", callback=_cb)
    except Exception as e:
        raise ArvcError(f"cannot open the audio stream: {str(e).splitlines()[0]}") from None
