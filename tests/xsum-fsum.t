#!/bin/sh
# xsum-fsum.t: pt_xsum's rounded exact sums against Python's math.fsum,
# which is correctly rounded too (to nearest, ties to even), on random
# doubles from bit patterns: wide exponents, cancellation, subnormals and
# constructed ties.  Inputs go to `t-xsum --sum` as float.hex() text; its
# "%a" answer is parsed back with float.fromhex.
#
# PT_UNIT: the directory of the built unit-test programs.

: "${PT_UNIT:=build/release/tests}"
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP no python3"
	exit 0
fi
exec python3 - "$PT_UNIT/t-xsum" <<'EOF'
import math
import os
import random
import struct
import subprocess
import sys

prog = sys.argv[1]
rng = random.Random(20240601)


def from_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def rnd_double(elo, ehi):
    """Random sign and mantissa, biased exponent field in [elo, ehi]."""
    return from_bits(rng.getrandbits(1) << 63 |
                     rng.randint(elo, ehi) << 52 |
                     rng.getrandbits(52))


def wide(n):
    # Up to 2^977: thousands of them cannot overflow fsum's partials.
    return [rnd_double(0, 2000) for _ in range(n)]


def mid(n):
    return [rnd_double(1023 - 60, 1023 + 60) for _ in range(n)]


def cancelling(n, small):
    xs = wide(n)
    xs += [-x for x in xs] + small
    rng.shuffle(xs)
    return xs


def tie(odd, nudge):
    """b plus exactly half an ulp of b, in pieces, with big cancelling
    pairs around it; odd is the last bit of b's mantissa (ties to even go
    up from odd, down from even); nudge moves the total just off the
    tie."""
    e = rng.randint(-800, 900)
    b = math.ldexp(rng.getrandbits(51) << 1 | 1 << 52 | odd, e - 52)
    if rng.getrandbits(1):
        b = -b
    h = math.ldexp(math.copysign(1.0, b), e - 53)   # half an ulp of b
    k = rng.randint(1, 30)
    xs = [b] + [h / 2 ** i for i in range(1, k + 1)] + [h / 2 ** k]
    if nudge:
        xs.append(nudge * math.ldexp(1.0, e - 53 - rng.randint(1, 150)))
    for _ in range(50):
        y = math.ldexp(rng.random(), e + rng.randint(-100, 60))
        xs += [y, -y]
    rng.shuffle(xs)
    return xs


cases = [
    ("wide exponents", wide(3000)),
    ("exponents -60..60", mid(5000)),
    ("full cancellation + mid", cancelling(2000, mid(40))),
    ("subnormal and smallest normal", [rnd_double(0, 3) for _ in range(3000)]),
    ("full cancellation + subnormals",
     cancelling(2000, [rnd_double(0, 1) for _ in range(30)])),
    ("large integers",
     [float(rng.randint(-2 ** 62, 2 ** 62)) for _ in range(4000)]),
    ("near overflow", [rnd_double(2000, 2030) for _ in range(500)]),
    ("empty", []),
]
for i in range(4):
    for nudge in (0, 1, -1):
        cases.append(("tie %d (%s) nudge %+d" % (i, "odd" if i & 1 else "even",
                      nudge), tie(i & 1, nudge)))

if not os.access(prog, os.X_OK):
    print("1..1")
    print("not ok 1 - no program %s" % prog)
    sys.exit(1)

print("1..%d" % len(cases))
failed = 0
for n, (name, xs) in enumerate(cases, 1):
    want = math.fsum(xs)
    text = "".join(x.hex() + "\n" for x in xs)
    r = subprocess.run([prog, "--sum"], input=text, capture_output=True,
                       text=True)
    try:
        got = float.fromhex(r.stdout.strip())
    except ValueError:
        got = None
    # The accumulator gives +0.0 for every exact zero; fsum may not.
    good = r.returncode == 0 and got is not None and (
        got.hex() == want.hex() or (got == 0 and want == 0))
    print("%sok %d - %s (%d values): %s" %
          ("" if good else "not ", n, name, len(xs), want.hex()))
    if not good:
        failed += 1
        print("#   got %r (exit %d) %s" % (r.stdout.strip(), r.returncode,
                                          r.stderr.strip()))
sys.exit(1 if failed else 0)
EOF
