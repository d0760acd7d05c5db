"""arvc.precision.int8: the oneDNN int8 conv / linear layers against fp32, run to run, and the module swap."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from arvc.models.commons import conv_nwc, to_nwc
from arvc.precision.guard import relative_error
from arvc.precision.int8 import (Int8Conv1d, Int8Linear, _to_uint8, int8_available, quantize_activation,
                                 quantize_modules, quantize_weight)

pytestmark = pytest.mark.skipif(not int8_available(torch.device("cpu")), reason="no oneDNN int8 kernels here")


def _conv(cin, cout, k, stride=1, dilation=1, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Conv1d(cin, cout, k, stride, padding=dilation * (k - 1) // 2, dilation=dilation).eval()


@pytest.mark.parametrize("cin,cout,k,stride,dilation", [(32, 48, 7, 1, 1), (64, 64, 3, 1, 5), (16, 24, 11, 2, 1),
                                                        (192, 96, 1, 1, 1)])
def test_int8_conv_agrees_with_fp32(cin, cout, k, stride, dilation):
    conv = _conv(cin, cout, k, stride, dilation)
    x = F.leaky_relu(torch.randn(2, cin, 700, generator=torch.Generator().manual_seed(1)), 0.1)
    q = Int8Conv1d.from_conv(conv)
    with torch.no_grad():
        ref = conv(x)
        plain = q(x)
        nwc = conv_nwc(q, to_nwc(x))  # the decoder's channels-last fast path dispatches to forward_nwc
        single = q(x[0])
    assert plain.shape == ref.shape and nwc.shape == (2, cout, 1, ref.shape[-1]) and single.shape == ref.shape[1:]
    assert relative_error(plain, ref) < 0.03
    assert torch.equal(nwc.squeeze(2), plain)
    assert relative_error(single, ref[0]) < 0.03  # its own activation range, so close to, not equal to, plain[0]


def test_int8_conv_follows_the_input_range_per_call():
    """Activation scales are taken per call: a 100x quieter or louder input is as right as the first."""
    conv = _conv(48, 48, 5)
    q = Int8Conv1d.from_conv(conv)
    x = torch.randn(1, 48, 500, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        errors = [relative_error(q(x * m), conv(x * m)) for m in (1.0, 0.01, 100.0)]
    assert max(errors) < 0.03, errors


def test_int8_output_equals_itself_run_to_run():
    conv, lin = _conv(64, 64, 7), torch.nn.Linear(96, 40)
    q, ql = Int8Conv1d.from_conv(conv), Int8Linear.from_linear(lin)
    x, t = torch.randn(1, 64, 4000), torch.randn(3, 50, 96)
    with torch.no_grad():
        assert torch.equal(q(x), q(x.clone()))
        assert torch.equal(ql(t), ql(t.clone()))


def test_int8_linear_agrees_with_fp32():
    torch.manual_seed(0)
    lin = torch.nn.Linear(256, 512)
    x = torch.randn(2, 300, 256) * 3
    with torch.no_grad():
        got, ref = Int8Linear.from_linear(lin)(x), lin(x)
    assert got.shape == ref.shape and relative_error(got, ref) < 0.03


def test_uint8_storage_read_matches_int_repr():
    x = torch.randn(1, 40, 1, 333).contiguous(memory_format=torch.channels_last)
    q, scale, zero = quantize_activation(x)
    ref = torch.quantize_per_tensor(x, scale, zero, torch.quint8).int_repr()
    assert q.dtype == torch.uint8 and torch.equal(q, ref) and q.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(_to_uint8(x, scale, zero), ref)


def test_quantize_modules_swaps_only_what_it_may():
    net = torch.nn.Sequential(torch.nn.Conv1d(1, 16, 5, padding=2), torch.nn.Conv1d(16, 16, 3, padding=1),
                              torch.nn.Conv1d(16, 16, 3, padding=1, groups=4), torch.nn.Conv1d(16, 8, 3, padding=1),
                              torch.nn.ConvTranspose1d(8, 8, 4, 2, padding=1)).eval()
    swapped = quantize_modules(net, keep=("3",))
    assert swapped == ["1"]  # 1 input channel, grouped, kept and transposed convs stay fp32
    assert isinstance(net[1], Int8Conv1d) and type(net[3]) is torch.nn.Conv1d
    x = torch.randn(1, 1, 200)
    with torch.no_grad():
        assert torch.isfinite(net(x)).all()


def test_quantize_modules_refuses_unfolded_weight_norm():
    net = torch.nn.Sequential(torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(16, 16, 3)))
    with pytest.raises(ValueError, match="weight norm"):
        quantize_modules(net)


@pytest.mark.parametrize("cin,cout,k,stride,padding,out_pad", [(64, 32, 16, 10, 3, 0), (32, 16, 4, 2, 1, 0),
                                                               (24, 16, 3, 3, 2, 1), (16, 8, 5, 3, 1, 1)])
def test_int8_transposed_conv_polyphase_agrees_with_fp32(cin, cout, k, stride, padding, out_pad):
    torch.manual_seed(0)
    ct = torch.nn.ConvTranspose1d(cin, cout, k, stride, padding=padding, output_padding=out_pad).eval()
    x = torch.randn(2, cin, 37)
    q = quantize_modules(torch.nn.Sequential(ct), transposed=True)
    assert q == ["0"]
    from arvc.precision.int8 import Int8ConvTranspose1d

    q8 = Int8ConvTranspose1d.from_conv(ct)
    with torch.no_grad():
        ref, got, nwc = ct(x), q8(x), conv_nwc(q8, to_nwc(x))
    assert got.shape == ref.shape and relative_error(got, ref) < 0.03
    assert torch.equal(nwc.squeeze(2), got)


def test_activation_grid_covers_the_range_with_few_values():
    from arvc.precision.int8 import activation_grid

    seen = set()
    for lo, hi in [(-0.3, 3.0), (-1.0, 1.0), (0.0, 5.0), (-2.0, 0.0), (-1e-9, 1e-9), (-0.31, 3.05), (-0.29, 2.9)]:
        scale, zero = activation_grid(lo, hi)
        assert 0 <= zero <= 255 and zero % 16 == 0
        assert -zero * scale <= min(lo, 0.0) + 1e-12 and (255 - zero) * scale >= hi - 1e-12  # nothing clipped
        assert (255 * scale) <= 1.25 * 1.07 * (max(hi, 0) - min(lo, 0)) + 1e-9  # little range wasted
    rng = torch.Generator().manual_seed(0)
    for _ in range(200):  # one layer's input range varying +-10% from call to call
        lo, hi = -0.3 * (0.9 + 0.2 * float(torch.rand(1, generator=rng))), 3.0 * (0.9 + 0.2 * float(torch.rand(1, generator=rng)))
        seen.add(activation_grid(lo, hi))
    assert len(seen) <= 3, seen  # a few scale/zero points, so a few oneDNN kernels, not one per call
    with pytest.raises(FloatingPointError):
        activation_grid(float("-inf"), 1.0)


def test_int8_conv_static_range_agrees_in_range_and_saturates_outside():
    """A fixed (calibrated) input range: right inside it, clipped outside it (a conv of the clamped input), and
    observing records the widest range seen; ``None`` restores dynamic scales."""
    conv = _conv(48, 48, 5)
    q = Int8Conv1d.from_conv(conv)
    x = torch.randn(1, 48, 500, generator=torch.Generator().manual_seed(3))
    lo, hi = float(x.min()), float(x.max())
    q.observed = [float("inf"), float("-inf")]
    with torch.no_grad():
        q(x)
        q(0.5 * x)
    assert q.observed == [lo, hi]
    q.observed = None
    q.set_input_range(lo, hi)
    assert q.static is not None
    with torch.no_grad():
        assert relative_error(q(x), conv(x)) < 0.03
        loud = 10 * x  # 10x past the calibrated range: saturates to it
        assert relative_error(q(loud), conv(loud)) > 0.5
        scale, zero = q.static  # the grid's range holds [lo, hi]: what the quantizer saturates to
        assert -zero * scale <= lo and hi <= (255 - zero) * scale
        assert relative_error(q(loud), conv(loud.clamp(-zero * scale, (255 - zero) * scale))) < 0.03
        q.set_input_range(None)
        assert q.static is None and relative_error(q(loud), conv(loud)) < 0.03


@pytest.mark.parametrize("shape", [(7, 5), (16, 3, 7), (4, 1, 1)])
def test_quantize_weight_equals_the_plain_formula(shape):
    w = torch.randn(*shape, generator=torch.Generator().manual_seed(3)) * torch.linspace(0.01, 3, shape[0]).reshape(
        -1, *([1] * (len(shape) - 1)))
    w[0] = -w[0].abs()  # a channel whose largest magnitude is negative
    scales = w.abs().reshape(shape[0], -1).amax(dim=1).clamp_min(1e-12) / 127.0
    ref = torch.round(w / scales.reshape(-1, *([1] * (len(shape) - 1)))).clamp(-127, 127).to(torch.int8)
    q, s = quantize_weight(w)
    assert torch.equal(s, scales) and torch.equal(q, ref) and q.dtype == torch.int8
    assert int(q[0].min()) == -127
