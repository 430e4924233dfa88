#!/usr/bin/env python3
"""Produces `prometheus-2.42-chunks`, a block chunks file written by real Prometheus.

The XOR test `prometheus_written_chunks_reencode_bit_for_bit` decodes every chunk in it
and checks that Ember's encoder, given the decoded samples, writes the same bytes.

Run (needs promtool from Prometheus 2.x):
    python3 gen_prometheus_chunks.py > /tmp/in.om
    promtool tsdb create-blocks-from openmetrics /tmp/in.om /tmp/blocks
    cp /tmp/blocks/*/chunks/000001 prometheus-2.42-chunks

All samples fall into one 2h block (1700006400 is a multiple of 7200 s).
"""
import random

rng = random.Random(42)
START_MS = 1700006400_000
SPAN_MS = 7_100_000


def emit(name, samples):
    print(f"# TYPE {name} gauge")
    for t_ms, v in samples:
        print(f"{name} {v} {t_ms // 1000}.{t_ms % 1000:03d}")


def regular(jitter_ms):
    t = START_MS + 5_000
    while t < START_MS + SPAN_MS:
        yield t + rng.randint(-jitter_ms, jitter_ms)
        t += 15_000


# A counter: 15 s scrapes with a few ms of jitter, small varying increments.
c = 0
emit("counter_total", [(t, (c := c + rng.randint(0, 40))) for t in regular(5)])

# A gauge: random walk with 2-3 significant digits.
g = 50.0
walk = []
for t in regular(3):
    g = round(max(0.0, g + rng.choice([-1, 1]) * rng.choice([0.1, 0.5, 1.2, 3.0])), 1)
    walk.append((t, repr(g)))
emit("gauge", walk)

# Constant values on an exact interval.
emit("constant", [(t, "1") for t in regular(0)])

# Special values.
specials = ["NaN", "+Inf", "-Inf", "-0", "0", "5e-324", "2.2250738585072014e-308",
            "1.7976931348623157e308", "0.1", "-1e-300", "12345678.9"]
emit("special", [(t, rng.choice(specials)) for t in regular(0)])

# Irregular timestamps reaching every delta-of-delta bucket, arbitrary doubles.
t = START_MS
irregular = []
while True:
    t += rng.choice([1, 2, 7, 1000, 8192, 8193, 15_000, 15_001, 65_536, 70_000, 524_288, 600_000])
    if t >= START_MS + SPAN_MS:
        break
    irregular.append((t, repr(rng.uniform(-1, 1) * 10 ** rng.randint(-300, 300))))
emit("irregular", irregular)

print("# EOF")
