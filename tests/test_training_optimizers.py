import math

import pytest
import torch

from arvc.errors import ArvcError
from arvc.training.optimizers import OPTIMIZERS, AnyPrecisionAdamW, build_optimizer, default_scheduler_for
from arvc.training.schedulers import SCHEDULERS, ScheduleConfig, build_scheduler, lr_at


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 8, generator=g)
    w_true = torch.randn(8, 1, generator=g)
    y = x @ w_true
    model = torch.nn.Linear(8, 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    return model, x, y


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_reduces_a_loss(name):
    model, x, y = _problem()
    opt = build_optimizer(name, model.parameters(), lr=1e-2, betas=(0.9, 0.99), eps=1e-8)
    first = None
    for _ in range(60):
        loss = torch.nn.functional.mse_loss(model(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    final = torch.nn.functional.mse_loss(model(x), y).item()
    assert final < 0.7 * first, (name, first, final)


def test_anyprecision_with_fp32_state_matches_torch_adamw():
    m1, x, y = _problem()
    m2, _, _ = _problem()
    o1 = torch.optim.AdamW(m1.parameters(), lr=1e-2, betas=(0.8, 0.99), eps=1e-9, weight_decay=0.01)
    o2 = AnyPrecisionAdamW(m2.parameters(), lr=1e-2, betas=(0.8, 0.99), eps=1e-9, weight_decay=0.01,
                           momentum_dtype=torch.float32, variance_dtype=torch.float32)
    for _ in range(20):
        for m, o in ((m1, o1), (m2, o2)):
            loss = torch.nn.functional.mse_loss(m(x), y)
            o.zero_grad()
            loss.backward()
            o.step()
    # torch AdamW decays before the update (p *= 1 - lr*wd); ours adds -lr*wd*p with the update: same to O(lr^2).
    torch.testing.assert_close(m1.weight, m2.weight, atol=2e-4, rtol=1e-3)


def test_anyprecision_keeps_bf16_state_and_fp32_master_weights():
    model, x, y = _problem()
    opt = build_optimizer("AnyPrecisionAdamW", model.parameters(), lr=1e-3, use_kahan_summation=True)
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    st = opt.state[model.weight]
    assert st["exp_avg"].dtype == torch.bfloat16 and st["exp_avg_sq"].dtype == torch.bfloat16
    assert st["compensation"].dtype == torch.bfloat16
    assert model.weight.dtype == torch.float32


def test_kahan_summation_keeps_tiny_updates_of_bf16_parameters():
    """lr 1e-4 steps are below bf16's spacing at 1.0: plain updates are lost, Kahan accumulates them."""
    moved = {}
    for kahan in (False, True):
        p = torch.nn.Parameter(torch.ones(16, dtype=torch.bfloat16))
        opt = AnyPrecisionAdamW([p], lr=1e-4, use_kahan_summation=kahan)
        for _ in range(200):
            p.grad = torch.ones_like(p)
            opt.step()
        moved[kahan] = 1.0 - float(p.float().mean())
    assert moved[False] == 0.0
    assert moved[True] == pytest.approx(0.02, rel=0.25)


def test_anyprecision_updates_match_the_per_parameter_formula():
    """The foreach implementation against AdamW written out by hand (bf16 moments, fp32 weights)."""
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(7))]
    ref = [p.detach().clone() for p in params]
    m_ref = [torch.zeros_like(r, dtype=torch.bfloat16) for r in ref]
    v_ref = [torch.zeros_like(r, dtype=torch.bfloat16) for r in ref]
    lr, b1, b2, eps, wd = 1e-2, 0.8, 0.99, 1e-9, 0.01
    opt = AnyPrecisionAdamW(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    for t in range(1, 6):
        grads = [torch.randn_like(r) for r in ref]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        opt.step()
        for i, g in enumerate(grads):
            m = m_ref[i].float() * b1 + (1 - b1) * g
            v = v_ref[i].float() * b2 + (1 - b2) * g * g
            m_ref[i], v_ref[i] = m.bfloat16(), v.bfloat16()
            ref[i] = ref[i] - lr * ((m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + eps) + wd * ref[i])
    for p, r in zip(params, ref):
        torch.testing.assert_close(p.detach(), r, atol=1e-6, rtol=1e-5)


def test_adabelief_v2_uses_amsgrad_and_inverse_sqrt():
    model, *_ = _problem()
    opt = build_optimizer("AdaBeliefV2", model.parameters(), lr=1e-3)
    assert opt.param_groups[0]["amsgrad"] is True
    assert default_scheduler_for("AdaBeliefV2") == "inverse_sqrt"
    assert default_scheduler_for("AdaBelief") == "cosine"


def test_unknown_optimizer_lists_choices():
    model, *_ = _problem()
    with pytest.raises(ArvcError, match="unknown optimizer 'sgd'; choices: AdamW, RAdam"):
        build_optimizer("sgd", model.parameters(), lr=1e-3)


def test_fused_adamw_on_cpu_and_cuda_only():
    model, *_ = _problem()
    assert build_optimizer("AdamW", model.parameters(), lr=1e-3, device=torch.device("cpu")).param_groups[0]["fused"]
    assert not build_optimizer("AdamW", model.parameters(), lr=1e-3, device=torch.device("mps")).param_groups[0]["fused"]
    assert not build_optimizer("AdamW", model.parameters(), lr=1e-3).param_groups[0]["fused"]  # device unknown


def test_schedules_are_pure_functions():
    cfg = ScheduleConfig(epochs=100, gamma=0.999875, warmup_epochs=10)
    assert lr_at("exponential", 0, 1e-4, cfg) == pytest.approx(1e-4)
    assert lr_at("exponential", 8, 1e-4, cfg) == pytest.approx(1e-4 * 0.999875**8)
    cos = [lr_at("cosine", e, 1.0, cfg) for e in range(100)]
    assert cos[0] == pytest.approx(0.1) and max(cos) == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(cos[10:], cos[11:]))
    assert lr_at("cosine", 55, 1.0, cfg) == pytest.approx(0.5, abs=1e-9)
    assert lr_at("inverse_sqrt", 39, 1.0, cfg) == pytest.approx(math.sqrt(10 / 40))
    with pytest.raises(ArvcError, match="choices: exponential, cosine, inverse_sqrt"):
        SCHEDULERS.get("step")


def test_scheduler_resume_continues_at_the_right_lr():
    cfg = ScheduleConfig(epochs=50)
    model, *_ = _problem()
    opt = build_optimizer("AdamW", model.parameters(), lr=1e-3)
    sched = build_scheduler("cosine", opt, cfg)
    for _ in range(7):
        opt.step()
        sched.step()
    lr_before = opt.param_groups[0]["lr"]
    model2, *_ = _problem()
    opt2 = build_optimizer("AdamW", model2.parameters(), lr=1e-3)
    build_scheduler("cosine", opt2, cfg, last_epoch=6)
    assert opt2.param_groups[0]["lr"] == pytest.approx(lr_before)
    assert lr_before == pytest.approx(lr_at("cosine", 7, 1e-3, cfg))
