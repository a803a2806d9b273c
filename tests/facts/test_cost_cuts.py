"""What the audit does to be cheap must not change what the audited code sees afterwards:
torch's compiler deferred while optimizers are built and stepped (facts/dynamo.py), the synthetic
passes on one thread (facts/forward.py ``one_thread``). Each case runs in a fresh interpreter,
because this one may have imported ``torch._dynamo`` already."""
from __future__ import annotations

import json
import subprocess
import sys

from audit_helpers import ROOT


def run_python(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


OPTIMIZERS = """
import json, sys, torch
from detaudit.facts.dynamo import deferred, StandIn
seen = {}
with deferred():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    for cls in (torch.optim.SGD, torch.optim.AdamW):
        opt = cls(model.parameters(), lr=0.1)
        model(torch.ones(2, 3)).sum().backward()
        opt.step(); opt.zero_grad(); opt.load_state_dict(opt.state_dict())
    seen["inside"] = type(sys.modules["torch._dynamo"]).__name__
    seen["weights_moved"] = bool(model[0].weight.grad is None)
seen["after_in_sys_modules"] = "torch._dynamo" in sys.modules
seen["marks_left"] = [f.__name__ for f in (torch.optim.Optimizer.add_param_group, torch.optim.Optimizer.zero_grad,
                      torch.optim.Optimizer.state_dict) if hasattr(f.__wrapped__, "__dynamo_disable")]
torch.optim.Optimizer.zero_grad(opt)  # after the audit: torch's own compiler-skip wrapper again
seen["real_after"] = type(sys.modules["torch._dynamo"]).__name__
seen["real_mark"] = hasattr(torch.optim.Optimizer.zero_grad.__wrapped__, "__dynamo_disable")
print(json.dumps(seen))
"""


def test_optimizers_build_and_step_without_the_compiler_and_leave_no_trace():
    seen = run_python(OPTIMIZERS)
    assert seen["inside"] == "StandIn"
    assert seen["weights_moved"] is True  # zero_grad(set_to_none) ran: the optimizer really worked
    assert seen["after_in_sys_modules"] is False
    assert seen["marks_left"] == []
    assert seen["real_after"] == "module" and seen["real_mark"] is True


COMPILE = """
import json, sys, torch
from detaudit.facts.dynamo import deferred
with deferred():
    double = torch.compile(lambda x: x * 2, backend="eager")
    value = double(torch.ones(2)).tolist()
    import torch._dynamo.utils  # a submodule while the stand-in is in place
    kind = type(sys.modules["torch._dynamo"]).__name__
print(json.dumps({"value": value, "kind": kind, "compiled": hasattr(torch._dynamo, "optimize")}))
"""


def test_code_that_compiles_gets_the_real_compiler():
    seen = run_python(COMPILE)
    assert seen == {"value": [2.0, 2.0], "kind": "module", "compiled": True}


AUDIT = """
import json, sys, torch
torch.set_num_threads(2)
from detaudit.faces.api import audit
report = audit("tests/fixtures/rules/DA101/fires.py", tier="train")
codes = sorted({f.code for a in report.audits for f in a.findings})
print(json.dumps({"codes": codes, "threads": torch.get_num_threads(), "dynamo": "torch._dynamo" in sys.modules}))
"""


def test_a_train_tier_audit_imports_no_compiler_and_gives_back_the_threads():
    seen = run_python(AUDIT)
    assert "DA101" in seen["codes"]
    assert seen["threads"] == 2
    assert seen["dynamo"] is False


EXPLAIN = """
import json, sys, torch
from detaudit.errors import ErrorInfo, environment
from detaudit.facts.dynamo import deferred
with deferred():
    environment.cache_clear()
    try:
        torch.load("/nonexistent/checkpoint.pth")  # an error raised inside torch, explained as a run's is
    except Exception as exc:
        info = ErrorInfo.from_exception(exc)
    kind = type(sys.modules["torch._dynamo"]).__name__
print(json.dumps({"kind": kind, "type": info.type}))
"""


def test_explaining_an_error_leaves_the_compiler_unimported():
    # the environment scan asks editable-install finders for their MAPPING; asking every module
    # would ask the stand-in too, and import the compiler (0.7 s of every run-tier resume)
    seen = run_python(EXPLAIN)
    assert seen == {"kind": "StandIn", "type": "FileNotFoundError"}
