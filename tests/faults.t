#!/usr/bin/env python3
# faults.t: what a run leaves behind when the world gets in its way.  A
# signal during -o removes the temporary file; -o to a device, a FIFO or a
# symlink writes through it as a shell redirection would; ulimit -f and
# ulimit -v give one clear line and no output; a broken pipe with SIGPIPE
# ignored is reported.
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time

top = os.environ.get("PT_TOP") or os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))
bindir = os.environ.get("PT_BIN") or os.path.join(top, "bin")
env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])
san = bool(os.environ.get("PT_SANITIZE"))
n = 0
failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed = 1
        for line in str(detail).splitlines()[:6]:
            print("#   " + line)


def defaults():
    # A test harness may start us with signals ignored; the programs are
    # to be tested as a user's shell starts them.
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
              signal.SIGPIPE):
        signal.signal(s, signal.SIG_DFL)


def one_line(err):
    return err.count(b"\n") == 1 and len(err.strip()) > 0


with tempfile.TemporaryDirectory() as d:
    def run(cmd, **kw):
        return subprocess.run(cmd, shell=True, cwd=d, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=defaults, **kw)

    run("policy-prep synth --rows 20000 --seed 3 > x.csv && "
        "policy-prep fit --treatment arm --outcome y x.csv > m.yaml && "
        "policy-prep apply -m m.yaml x.csv > x.pf")

    # Signals while writing: the run dies, the temporary goes with it.
    rows = 30000000 if not san else 3000000
    for sig in ("INT", "TERM", "HUP", "QUIT"):
        w = os.path.join(d, "sig")
        os.mkdir(w)
        p = subprocess.Popen("exec policy-prep synth --rows %d -o out.csv" %
                             rows,
                             shell=True, cwd=w, env=env, preexec_fn=defaults,
                             stderr=subprocess.DEVNULL)
        time.sleep(0.4)
        started = any(f.startswith("out.csv.tmp") for f in os.listdir(w))
        # exec: the signal goes to the program, not to a shell.
        p.send_signal(getattr(signal, "SIG" + sig))
        rc = p.wait()
        left = os.listdir(w)
        ok(started and rc != 0 and left == [],
           "SIG%s during -o leaves nothing behind" % sig,
           "started %s, status %s, left %s" % (started, rc, left))
        for f in left:
            os.unlink(os.path.join(w, f))
        os.rmdir(w)

    # split writes many files at once: a signal removes them all.  The
    # signal must land while split runs: a run that ended first proves
    # nothing, so the input grows until one is cut.
    w = os.path.join(d, "split")
    os.mkdir(w)
    big = os.path.join(d, "big.pf")
    nrows = rows // 20
    for attempt in range(4):
        run("policy-prep synth --rows %d --seed 4 > big.csv && policy-prep "
            "apply -m m.yaml big.csv > big.pf && rm big.csv" % nrows)
        p = subprocess.Popen("exec policy-prep split -n 8 -o part.%%d.pf %s" %
                             big, shell=True, cwd=w, env=env,
                             preexec_fn=defaults, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        p.send_signal(signal.SIGTERM)
        rc = p.wait()
        done = sorted(os.listdir(w)) == ["part.%d.pf" % k for k in range(8)]
        # Every part in place: split had finished (a sanitizer build's
        # exit can take longer than the work, so the signal may land
        # after it).  Try again on more rows.
        if not done:
            break
        for f in os.listdir(w):
            os.unlink(os.path.join(w, f))
        nrows *= 4
    ok(rc != 0 and os.listdir(w) == [],
       "SIGTERM during split leaves none of its parts",
       "status %s, left %s" % (rc, os.listdir(w)))

    # -o to what is not a regular file.
    if os.geteuid() == 0 or os.access("/dev/null", os.W_OK):
        r = run("policy-prep apply -m m.yaml -o /dev/null x.csv")
        st = os.stat("/dev/null")
        ok(r.returncode == 0 and stat.S_ISCHR(st.st_mode),
           "-o /dev/null writes to the device and leaves it one",
           r.stderr)
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    reader = subprocess.Popen("policy-prep check < fifo", shell=True, cwd=d,
                              env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    r = run("policy-prep apply -m m.yaml -o fifo x.csv")
    out, _ = reader.communicate(timeout=60)
    ok(r.returncode == 0 and b"20000 rows" in out and
       stat.S_ISFIFO(os.stat(fifo).st_mode),
       "-o FIFO writes through it; the FIFO stays", out)
    with open(os.path.join(d, "target.csv"), "w") as f:
        f.write("old\n")
    os.chmod(os.path.join(d, "target.csv"), 0o640)
    os.symlink("target.csv", os.path.join(d, "link.csv"))
    r = run("policy-prep synth --rows 10 -o link.csv")
    ok(r.returncode == 0 and os.path.islink(os.path.join(d, "link.csv")) and
       open(os.path.join(d, "target.csv")).read().startswith("x1,") and
       stat.S_IMODE(os.stat(os.path.join(d, "target.csv")).st_mode) == 0o640,
       "-o through a symlink replaces its target, keeps the link and the "
       "target's permissions", r.stderr)
    if os.geteuid() != 0:
        ro = os.path.join(d, "ro.csv")
        open(ro, "w").close()
        os.chmod(ro, 0o444)
        r = run("policy-prep synth --rows 10 -o ro.csv")
        ok(r.returncode == 2 and os.path.getsize(ro) == 0,
           "-o to a read-only file is refused, as the shell would", r.stderr)
    else:
        n += 1
        print("ok %d # SKIP root may write read-only files" % n)

    # Resource limits.
    r = run("ulimit -f 64; policy-prep synth --rows 100000 -o lim.csv")
    ok(r.returncode == 2 and one_line(r.stderr) and
       not [f for f in os.listdir(d) if f.startswith("lim.csv")],
       "ulimit -f: one line, no file", r.stderr)
    if not san:
        run("policy-prep synth --rows 300 --features 2000 > wide.csv")
        r = run("ulimit -v 40000; policy-prep fit --treatment arm --outcome y"
                " -o wm.yaml wide.csv")
        ok(r.returncode == 2 and one_line(r.stderr) and
           b"out of memory" in r.stderr and not os.path.exists(
               os.path.join(d, "wm.yaml")),
           "ulimit -v: one line saying so, no file", r.stderr)
    else:
        n += 1
        print("ok %d # SKIP ulimit -v under ASan" % n)

    # A closed pipe with SIGPIPE ignored: reported, not silent.
    r = subprocess.run("policy-prep synth --rows 200000 | head -1 > /dev/null",
                       shell=True, cwd=d, env=env, stderr=subprocess.PIPE,
                       preexec_fn=lambda: signal.signal(signal.SIGPIPE,
                                                        signal.SIG_IGN))
    ok(b"Broken pipe" in r.stderr and one_line(r.stderr),
       "a broken pipe with SIGPIPE ignored is one line, not silence",
       r.stderr)
print("1..%d" % n)
sys.exit(failed)
