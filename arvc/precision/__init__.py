"""Reduced precision on the CPU: what the processor has (``cpu_features``), the oneDNN AMX convolution bug and its
workaround (``amx_workaround``), and the numeric checks that decide whether bf16 is right here (``guard``).

:func:`arvc.device.auto_precision` decides with these; the embedders call :func:`guard.guard_reduced_precision`.
"""
