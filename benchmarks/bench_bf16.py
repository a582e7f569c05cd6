"""Time training steps of the default network in float32 and bfloat16 autocast.

Each precision runs in a fresh interpreter, so that oneDNN can be limited to
an instruction set before it starts: ``--max-isa AVX512_CORE`` hides AVX-512
BF16 and AMX from oneDNN, which then emulates bfloat16 as it must on
Skylake-SP and Cascade Lake CPUs. Reports the median seconds per step.

Usage::

    python benchmarks/bench_bf16.py                          # this CPU as it is
    python benchmarks/bench_bf16.py --max-isa AVX512_CORE    # bf16 emulated
    python benchmarks/bench_bf16.py --json results/bf16.json --max-isa AVX512_CORE
"""

import argparse
import json
import os
import subprocess
import sys

from _results import add_json_option, write_results

_CHILD = r"""
import json, sys, time
import torch
from fmnist.convnet import ResidualCNN
precision = sys.argv[1]
batch, steps, threads = (int(arg) for arg in sys.argv[2:5])
torch.set_num_threads(threads)
torch.manual_seed(0)
net = ResidualCNN(n_classes=10).to(memory_format=torch.channels_last)
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True)
loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
x = torch.randn(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 10, (batch,))
times = []
for step in range(steps + 3):
    start = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        out = net(x)
    loss = loss_fn(out.float(), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step >= 3:  # warm-up steps excluded
        times.append(time.perf_counter() - start)
times.sort()
median = times[len(times) // 2]
print(json.dumps({"precision": precision, "median_step_seconds": median}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-isa", default=None,
                        help="ONEDNN_MAX_CPU_ISA for the children, e.g. AVX512_CORE")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    add_json_option(parser)
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.max_isa:
        env["ONEDNN_MAX_CPU_ISA"] = args.max_isa
    rows = []
    for precision in ("float32", "bfloat16"):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, precision, str(args.batch_size),
             str(args.steps), str(args.threads)],
            env=env, check=True, capture_output=True, text=True,
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(f"  {precision:<9} {rows[-1]['median_step_seconds'] * 1000:7.1f} ms/step",
              flush=True)
    ratio = rows[1]["median_step_seconds"] / rows[0]["median_step_seconds"]
    print(f"  bfloat16 / float32 step time: {ratio:.2f}")
    results = {
        "onednn_max_cpu_isa": args.max_isa,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "threads": args.threads,
        "runs": rows,
        "bf16_over_fp32": ratio,
    }
    # The children seed torch with 0; command, cpu, cores, date from run_info.
    return write_results(args.json, results, seed=0)


if __name__ == "__main__":
    main()
