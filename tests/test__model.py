"""Tests for hessnotes._model: a model, a loss and data as a function of the flat parameters."""

from __future__ import annotations

import pytest
import torch
from helpers import assert_close

from hessnotes._model import ModelLoss

F64 = torch.float64


def small_net(seed: int = 0, dtype=F64) -> torch.nn.Module:
    torch.manual_seed(seed)  # nn.Linear's own initialisation; restored by the fixture below
    net = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    return net.to(dtype)


@pytest.fixture(autouse=True)
def _keep_global_rng():
    state = torch.random.get_rng_state()
    yield
    torch.random.set_rng_state(state)


def batch(n: int = 7, seed: int = 1, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 5, generator=g, dtype=dtype), torch.randint(0, 3, (n,), generator=g)


def test_flattening_order_is_named_parameters_row_major():
    net = small_net()
    ml = ModelLoss(net, torch.nn.CrossEntropyLoss(), batch())
    assert ml.names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    want = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    assert torch.equal(ml.theta, want) and ml.D == 5 * 4 + 4 + 4 * 3 + 3
    back = ml.unflatten(ml.theta)
    for name, p in net.named_parameters():
        assert torch.equal(back[name], p.detach()), name


def test_a_chosen_subset_keeps_the_models_order_and_the_rest_fixed():
    net = small_net()
    ml = ModelLoss(net, torch.nn.CrossEntropyLoss(), batch(), params=["2.bias", net[0].weight])
    assert ml.names == ["0.weight", "2.bias"] and ml.D == 20 + 3
    x, y = batch()
    assert_close(
        ml.loss(ml.theta, x, y),
        torch.nn.CrossEntropyLoss()(net(x), y).detach(),
        rtol=1e-15,
        what="loss at the model's own parameters",
    )


def test_loss_is_that_of_all_the_data_as_one_batch():
    net = small_net()
    x, y = batch(11)
    parts = [(x[:4], y[:4]), (x[4:], y[4:])]
    for reduction, fn in (
        ("mean", torch.nn.CrossEntropyLoss()),
        ("sum", torch.nn.CrossEntropyLoss(reduction="sum")),
    ):
        ml = ModelLoss(net, fn, parts)
        assert ml.reduction == reduction
        total, rows = 0.0, 0
        for xb, yb, n in ml.batches():
            rows += n
            total = total + ml.loss(ml.theta, xb, yb) * (n if reduction == "mean" else 1)
        total = total / rows if reduction == "mean" else total
        assert_close(
            total, fn(net(x), y).detach(), rtol=1e-14, what=f"{reduction}: weighted batches"
        )


def test_batch_size_splits_every_batch_into_chunks():
    x, y = batch(10)
    ml = ModelLoss(small_net(), torch.nn.CrossEntropyLoss(), (x, y), batch_size=4)
    assert [n for _, _, n in ml.batches()] == [4, 4, 2] and not ml.one_batch
    assert ModelLoss(small_net(), torch.nn.CrossEntropyLoss(), (x, y)).one_batch


def test_the_model_itself_is_not_changed():
    net = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 3))
    net = net.to(F64).train()
    net[0].weight.grad = torch.ones(4, 5, dtype=F64)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    ml = ModelLoss(net, torch.nn.CrossEntropyLoss(), batch())
    ml.check()
    ml.loss(ml.theta + 1.0, *batch()[:2])
    assert net.training, "the mode is used as it is, never switched"
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed (running statistics must not move)"
    assert torch.equal(net[0].weight.grad, torch.ones(4, 5, dtype=F64))
    assert net[2].weight.grad is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"data": torch.zeros(3, 5, dtype=F64)}, TypeError, r"data is a single tensor.*flat form"),
        ({"data": iter([batch()])}, ValueError, "one-shot iterator"),
        ({"data": 3}, TypeError, "data must be a batch"),
        ({"data": []}, ValueError, "holds no batches"),
        ({"params": ["nope"]}, ValueError, r"params names 'nope'.*0\.weight"),
        ({"params": [torch.zeros(2)]}, ValueError, "not a parameter of the model"),
        ({"params": []}, ValueError, "no parameters"),
        ({"reduction": "max"}, ValueError, "reduction must be 'mean' or 'sum'"),
        ({"reduction": "sum"}, ValueError, "loss_fn.reduction is 'mean'"),
        ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
        ({"data": batch(dtype=torch.float32)}, TypeError, r"inputs of batch 0 are torch\.float32"),
        ({"loss_fn": torch.nn.CrossEntropyLoss(reduction="none")}, ValueError, "reduction='none'"),
        ({"loss_fn": lambda z, y: z.sum(1)}, ValueError, r"must return a scalar.*\(7,\)"),
        ({"loss_fn": 3.0}, TypeError, "loss_fn must be callable"),
    ],
)
def test_bad_input_is_named(kwargs, error, match):
    args = {"model": small_net(), "loss_fn": torch.nn.CrossEntropyLoss(), "data": batch()}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        ModelLoss(args.pop("model"), args.pop("loss_fn"), args.pop("data"), **args).check()


def test_half_precision_models_are_refused():
    with pytest.raises(TypeError, match=r"float16 and bfloat16 are refused.*model\.double"):
        ModelLoss(small_net().half(), torch.nn.CrossEntropyLoss(), batch(dtype=torch.float16))
