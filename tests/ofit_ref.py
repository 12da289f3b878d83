#!/usr/bin/env python3
"""A naive reference for policy-score fit --learner forest (lib/ofit.h).

Grows every tree node by node with the rows in memory, exact sums as
Fractions (float(Fraction) rounds correctly, as pt_wide_round does), the
sample and mtry from the same hashes, and prints the forest's nodes in the
order the program writes them.  Used by tests/ofit.t, which compares its
output with the program's forest.

usage: ofit_ref.py MANIFEST ROWS.csv TREES DEPTH MIN_LEAF MTRY SUBSAMPLE SEED
                  [FOLDS FOLD_SEED]
(with FOLDS > 1, tree k leaves out the rows of fold k mod FOLDS, a row's
fold being splitmix64(_row ^ FOLD_SEED) mod FOLDS)
(ROWS.csv: policy-prep cat of the frames: _row, features, arm, y)
"""
import csv
import math
import sys
from fractions import Fraction

import yaml

M64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9e3779b97f4a7c15) & M64
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M64
    return x ^ (x >> 31)


def main():
    mpath, rpath = sys.argv[1], sys.argv[2]
    trees, depth, min_leaf, mtry = (int(v) for v in sys.argv[3:7])
    sub = float(sys.argv[7])
    seed = int(sys.argv[8])
    folds = int(sys.argv[9]) if len(sys.argv) > 9 else 1
    fseed = int(sys.argv[10]) if len(sys.argv) > 10 else 0
    man = yaml.safe_load(open(mpath))
    feats = man['features']
    names = [f['name'] for f in feats]
    bounds = [[float(b) for b in (f.get('boundaries') or [])] for f in feats]
    vocab = [str(v) for v in man['vocabulary']]
    F, A = len(names), len(vocab)
    if mtry == 0:
        mtry = min(F, math.ceil(math.sqrt(F)) + 20)
    mtry = min(mtry, F)
    rows = []
    for r in csv.DictReader(open(rpath)):
        x = [float(r[n]) if r[n] not in ('', 'NA') else math.nan
             for n in names]
        rows.append((int(r['_row']), x, vocab.index(r['arm']),
                     Fraction(float(r['y']))))
    out = []
    for k in range(trees):
        tseed = splitmix64(seed ^ splitmix64(
            (0x6f66697474726565 + k) & M64))
        cut = M64 if sub >= 1 else int(math.ldexp(sub, 64))
        sample = [r for r in rows
                  if (folds < 2 or splitmix64(r[0] ^ fseed) % folds != k % folds)
                  and (sub >= 1 or splitmix64(r[0] ^ tseed) < cut)]
        nodes = {}  # heap id -> dict

        def side_score(ys, cs):
            s = 0.0
            for a in range(A):
                if cs[a] > 0:
                    v = float(ys[a])
                    s += v * v / cs[a]
            return s

        def value(ys, cs, parent):
            return [float(ys[a]) / cs[a] if cs[a] > 0 else parent[a]
                    for a in range(A)]

        def code(j, v):
            if math.isnan(v):
                return len(bounds[j]) + 1
            lo = 0
            while lo < len(bounds[j]) and v > bounds[j][lo]:
                lo += 1
            return lo

        def grow(nid, level, rs, val):
            node = {'val': val}
            nodes[nid] = node
            if level >= depth:
                return
            ys = [Fraction(0)] * A
            cs = [0] * A
            for r in rs:
                ys[r[2]] += r[3]
                cs[r[2]] += 1
            n = len(rs)
            base = side_score(ys, cs)
            st = tseed ^ splitmix64(nid)
            idx = list(range(F))
            if mtry < F:
                for j in range(mtry):
                    z = splitmix64(st)
                    st = (st + 0x9e3779b97f4a7c15) & M64
                    q = j + z % (F - j)
                    idx[j], idx[q] = idx[q], idx[j]
            chosen = sorted(idx[:mtry])
            best = -math.inf
            bsplit = None
            for j in chosen if n >= 2 * min_leaf else []:
                nb = len(bounds[j])
                cy = [[Fraction(0)] * A for _ in range(nb + 2)]
                cc = [[0] * A for _ in range(nb + 2)]
                for r in rs:
                    c = code(j, r[1][j])
                    cy[c][r[2]] += r[3]
                    cc[c][r[2]] += 1
                nmiss = sum(cc[nb + 1])
                py = [Fraction(0)] * A
                pc = [0] * A
                for b in range(nb):
                    for a in range(A):
                        py[a] += cy[b][a]
                        pc[a] += cc[b][a]
                    for ml in (0, 1):
                        if ml and nmiss == 0:
                            break
                        ly = [py[a] + (cy[nb + 1][a] if ml else 0)
                              for a in range(A)]
                        lc = [pc[a] + (cc[nb + 1][a] if ml else 0)
                              for a in range(A)]
                        nl = sum(lc)
                        if nl < min_leaf or n - nl < min_leaf:
                            continue
                        ry = [ys[a] - ly[a] for a in range(A)]
                        rc = [cs[a] - lc[a] for a in range(A)]
                        sc = side_score(ly, lc) + side_score(ry, rc)
                        if sc > best:
                            best = sc
                            bsplit = (j, b, ml, ly, lc, ry, rc)
            if bsplit is None or not best > base + 1e-12 * abs(base):
                return
            j, b, ml, ly, lc, ry, rc = bsplit
            node['split'] = (j, bounds[j][b], ml)
            left = [r for r in rs if (ml if math.isnan(r[1][j])
                                      else r[1][j] <= bounds[j][b])]
            right = [r for r in rs if not (ml if math.isnan(r[1][j])
                                           else r[1][j] <= bounds[j][b])]
            grow(2 * nid, level + 1, left, value(ly, lc, val))
            grow(2 * nid + 1, level + 1, right, value(ry, rc, val))

        ys = [Fraction(0)] * A
        cs = [0] * A
        for r in sample:
            ys[r[2]] += r[3]
            cs[r[2]] += 1
        grow(1, 0, sample, value(ys, cs, [0.0] * A))
        ids = sorted(nodes)
        pos = {nid: i for i, nid in enumerate(ids)}
        t = {'feature': [], 'threshold': [], 'missing_left': [],
             'left': [], 'right': [], 'leaf': []}
        for nid in ids:
            nd = nodes[nid]
            if 'split' in nd:
                j, thr, ml = nd['split']
                t['feature'].append(j)
                t['threshold'].append(thr)
                t['missing_left'].append(ml)
                t['left'].append(pos[2 * nid])
                t['right'].append(pos[2 * nid + 1])
            else:
                t['feature'].append(-1)
                t['threshold'].append(0.0)
                t['missing_left'].append(0)
                t['left'].append(-1)
                t['right'].append(-1)
                t['leaf'].append(nd['val'])
        out.append(t)
    for k, t in enumerate(out):
        for key in ('feature', 'threshold', 'missing_left', 'left', 'right'):
            print(k, key, ' '.join(repr(v) for v in t[key]))
        print(k, 'leaves', ' '.join(repr(v) for leaf in t['leaf']
                                    for v in leaf))


if __name__ == '__main__':
    main()
