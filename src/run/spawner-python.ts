/**
 * The python side of the spawner (see spawner.ts), run with `python3 -I -S -c` so nothing
 * exists on disk. Same protocol as the perl side (spawner-script.ts); only the standard library.
 *
 * Why a second helper: perl can only fork. A forked perl child runs perl code until its exec,
 * writing reference counts all over the copied heap, and the exec then tears that copy down:
 * measured with perf, about half a millisecond of CPU per recipe, as much as the recipe
 * (`cp` of a small file) itself on a 2-core machine. python has os.posix_spawn, which glibc
 * implements with a vfork-style clone: no copy of the helper at all. So on Linux, when
 * /usr/bin/python3 is there, recipes start through this script, else through perl.
 *
 * How each piece of the perl script maps here:
 * - Process group: posix_spawn's setpgroup=0 (set in the child before exec, so the group exists
 *   when posix_spawn returns and S is sent).
 * - stdin /dev/null, stdout/stderr pipes, stdout opened on a path: file actions; the path is
 *   opened here first (after chdir to the job's cwd, done for every job: a folder removed and
 *   made again is another folder), so a failure is told apart from exec's; non-blocking, so a
 *   FIFO nobody reads fails that job (ENXIO) instead of blocking every job.
 * - Recipes inherit glibc's internal signals 32 and 33 as ignored (posix_spawn cannot reset
 *   them); programs that use them install their own handlers.
 * - Exec failure: posix_spawn raises it (glibc reports the child's exec errno), so a job that
 *   cannot start ends with F and no S. ENOEXEC (a script without #!, by path or on PATH) runs
 *   under /bin/sh, as execvp does.
 * - SIGTERM only sets a flag; the loop stops: never between a spawn and the job's record.
 * - PATH: posix_spawnp searches the caller's PATH, so the helper's own PATH is set to the job's
 *   (as perl sets %ENV before fork), once per distinct env.
 * - Exits: SIGCHLD writes to a wakeup fd (python's C-level handler, so no window before poll)
 *   and every exited child is reaped with waitpid(-1). The helper is a child subreaper
 *   (prctl), so the orphaned members of a recipe's group (a background job whose shell exited)
 *   are reaped here at once: a group is empty as soon as its last member dies, where some
 *   inits (this container's) take two seconds to reap an orphan's zombie. The helper exits
 *   with code 3 at start when python is older than 3.8 (no posix_spawn); node then uses perl.
 * - Signals in the child: python ignores SIGPIPE and SIGXFSZ; setsigdef restores the default
 *   dispositions and setsigmask clears the mask.
 * - Output drained (at most 1 MiB more) and pipes closed before the exit is reported; a start
 *   message may wait up to 5 ms for the job's exit; EOF on stdin or SIGTERM: TERM the running
 *   and lingering groups, KILL what is left after 1.5 s, exit. All as in the perl script.
 */
export const PYTHON_SPAWNER_SCRIPT = String.raw`
import os, select, signal, sys, time
if not hasattr(os, 'posix_spawnp'):
    sys.exit(3)
try:
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
except Exception:
    pass
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
DEFSIGS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)
DUP2 = os.POSIX_SPAWN_DUP2
devnull = os.open('/dev/null', os.O_RDONLY)
poll = select.poll()
envs = {}
cur_env = None
jobs = {}      # pid -> job: [jid, pid, queued behind it or None]
running = {}   # jid -> job
waiting = {}   # jid -> queued job whose job before it ended without starting it: G starts, C drops
by_fd = {}     # output fd -> [job, stream]
lingering = set()  # groups whose leader exited with members left
inbuf = bytearray()
obuf = []
urgent = False

def out(m):
    global urgent
    obuf.append(m)
    urgent = True

def flush():
    global urgent
    data = b''.join(obuf)
    obuf.clear()
    urgent = False
    view = memoryview(data)
    while view:
        try:
            n = os.write(1, view)
        except InterruptedError:
            continue
        except OSError:
            stop()
        view = view[n:]

def on_path(name):
    for d in os.environb.get(b'PATH', b'/bin:/usr/bin').split(b':'):
        p = os.path.join(d or b'.', name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None

def start(jid, envid, payload):
    global cur_env
    parts = payload.split(b'\0')
    cwd, stdout, argv = parts[0], parts[1], parts[2:]
    if envid != cur_env:
        env = envs.get(envid, {})
        path = env.get(b'PATH')
        if path is None:
            os.environb.pop(b'PATH', None)
        else:
            os.environb[b'PATH'] = path
        cur_env = envid
    env = envs.get(envid, {})
    # Every job, not once per path: a folder deleted and made again is another folder.
    try:
        os.chdir(cwd)
    except OSError as e:
        out(b'F%s %d\n' % (jid, e.errno))
        return
    fd1 = None
    if stdout:
        # O_NONBLOCK: a FIFO with no reader fails (ENXIO) instead of blocking every job.
        try:
            fd1 = os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK, 0o666)
        except OSError as e:
            out(b'F%s %d\n' % (jid, 100000 + e.errno))
            return
        os.set_blocking(fd1, True)
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    actions = [(DUP2, devnull, 0), (DUP2, w1 if fd1 is None else fd1, 1), (DUP2, w2, 2)]
    pid = None
    err = 0
    try:
        pid = os.posix_spawnp(argv[0], argv, env, file_actions=actions, setpgroup=0, setsigdef=DEFSIGS, setsigmask=())
    except OSError as e:
        err = e.errno
        script = None if err != 8 else argv[0] if b'/' in argv[0] else on_path(argv[0])
        if script:  # ENOEXEC: a script without #!, run by sh as execvp does
            try:
                pid = os.posix_spawn(b'/bin/sh', [b'/bin/sh', script] + argv[1:], env, file_actions=actions, setpgroup=0, setsigdef=DEFSIGS, setsigmask=())
            except OSError as e2:
                err = e2.errno
    finally:
        os.close(w1)
        os.close(w2)
        if fd1 is not None:
            os.close(fd1)
    if pid is None:
        os.close(r1)
        os.close(r2)
        out(b'F%s %d\n' % (jid, err))
        return
    job = [jid, pid, None]
    jobs[pid] = job
    running[jid] = job
    for fd, s in ((r1, b'1'), (r2, b'2')):
        os.set_blocking(fd, False)
        by_fd[fd] = [job, s]
        poll.register(fd, select.POLLIN)
    obuf.append(b'S%s %d\n' % (jid, pid))

def close_fd(fd):
    del by_fd[fd]
    poll.unregister(fd)
    os.close(fd)

def read_some(fd):
    job, s = by_fd[fd]
    try:
        b = os.read(fd, 65536)
    except (BlockingIOError, InterruptedError):
        return
    except OSError:
        b = b''
    if b:
        out(b'O%s %s %d\n' % (job[0], s, len(b)) + b)
    else:
        close_fd(fd)

def drain(fd):
    job, s = by_fd[fd]
    left = 1 << 20
    while left > 0:
        try:
            b = os.read(fd, 65536)
        except InterruptedError:
            continue
        except OSError:
            break
        if not b:
            break
        out(b'O%s %s %d\n' % (job[0], s, len(b)) + b)
        left -= len(b)
    close_fd(fd)

def reap_all():
    # Every exited child first (orphans too), then the jobs: a group whose last orphan has just
    # died is seen empty.
    done = []
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == 0:
            break
        job = jobs.pop(pid, None)
        if job is not None:
            done.append((job, st))
    for job, st in done:
        finish(job, st)

def finish(job, st):
    jid, pid, nxt = job
    running.pop(jid, None)
    for fd in [f for f, v in by_fd.items() if v[0] is job]:
        drain(fd)
    try:
        os.kill(-pid, 0)
        empty = 0
        lingering.add(pid)
    except OSError:
        empty = 1
    # The command queued behind this one starts in its slot now when pipe would start it: exit
    # 0, nothing left in the group, every staging path made. Else it waits for G or C.
    handed = 0
    if nxt is not None:
        if empty and not os.WIFSIGNALED(st) and os.WEXITSTATUS(st) == 0 and all(os.path.lexists(c) for c in nxt[3]):
            handed = 1
        else:
            waiting[nxt[0]] = nxt
    if os.WIFSIGNALED(st):
        out(b'X%s -1 %d %d %d\n' % (jid, os.WTERMSIG(st), empty, handed))
    else:
        out(b'X%s %d 0 %d %d\n' % (jid, os.WEXITSTATUS(st), empty, handed))
    if handed:
        run_job(nxt[0], nxt[1], nxt[2])

def run_job(jid, envid, payload):
    try:
        start(jid, envid, payload)
    except Exception as e:  # anything unforeseen fails this job, not every job
        out(b'F%s %d\n' % (jid, getattr(e, 'errno', None) or 22))

def queue(jid, envid, after, payload):
    parts = payload.split(b'\0')
    n = int(parts[0])
    checks = parts[1:1 + n]
    q = (jid, envid, b'\0'.join(parts[1 + n:]), checks)
    job = running.get(after)
    if job is not None and job[2] is None:
        job[2] = q
    else:
        waiting[jid] = q

def cancel(jid):
    for job in running.values():
        if job[2] is not None and job[2][0] == jid:
            job[2] = None
            out(b'F%s -1\n' % jid)
            return
    if waiting.pop(jid, None) is not None:
        out(b'F%s -1\n' % jid)

def parse():
    while True:
        nl = inbuf.find(b'\n')
        if nl < 0:
            return
        h = bytes(inbuf[:nl]).split(b' ')
        n = int(h[-1])
        if len(inbuf) < nl + 1 + n:
            return
        payload = bytes(inbuf[nl + 1:nl + 1 + n])
        del inbuf[:nl + 1 + n]
        if h[0][:1] == b'E':
            e = {}
            for kv in payload.split(b'\0'):
                i = kv.find(b'=')
                if i > 0:
                    e[kv[:i]] = kv[i + 1:]
            envs[h[0][1:]] = e
        elif term:
            return
        elif h[0][:1] == b'J':
            run_job(h[0][1:], h[1], payload)
        elif h[0][:1] == b'Q':
            queue(h[0][1:], h[1], h[2], payload)
        elif h[0][:1] == b'G':
            # Waiting for pipe's word, or still queued behind a running job: pipe gave it a
            # slot that freed elsewhere, so it starts now (and no longer behind that job).
            gid = h[0][1:]
            q = waiting.pop(gid, None)
            if q is None:
                for job in running.values():
                    if job[2] is not None and job[2][0] == gid:
                        q = job[2]
                        job[2] = None
                        break
            if q is not None:
                run_job(q[0], q[1], q[2])
        elif h[0][:1] == b'C':
            cancel(h[0][1:])

def alive_groups(groups):
    left = []
    for g in groups:
        try:
            os.kill(-g, 0)
            left.append(g)
        except OSError:
            pass
    return left

def stop():
    groups = list(jobs) + list(lingering)
    for g in groups:
        try:
            os.kill(-g, signal.SIGTERM)
        except OSError:
            pass
    for _ in range(30):
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        groups = alive_groups(groups)
        if not groups:
            break
        time.sleep(0.05)
    for g in groups:
        try:
            os.kill(-g, signal.SIGKILL)
        except OSError:
            pass
    stop_adopted()
    os._exit(0)

def adopted():
    # Live processes whose parent is this helper: as a subreaper it adopts what recipes left
    # when their parent died (a 'setsid cmd &' in another session, outside every group).
    me = str(os.getpid()).encode()
    out = []
    try:
        names = os.listdir('/proc')
    except OSError:
        return out
    for n in names:
        if not n.isdigit():
            continue
        try:
            with open('/proc/' + n + '/stat', 'rb') as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(b') ') + 2:].split()
        if len(rest) > 1 and rest[1] == me and rest[0] != b'Z':
            out.append(int(n))
    return out

def stop_adopted():
    # TERM, then KILL after 1.5 s, until none is left (killing one may hand us its children).
    start = time.monotonic()
    while True:
        kids = adopted()
        if not kids:
            return
        late = time.monotonic() - start
        if late > 3:
            return
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL if late > 1.5 else signal.SIGTERM)
            except OSError:
                pass
        time.sleep(0.05)
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass

# TERM only sets a flag (its byte on the wakeup fd wakes poll): stop() runs from the loop, never
# between a child's spawn and its entry in jobs, where that child would be missed.
term = []
signal.signal(signal.SIGTERM, lambda *_: term.append(1))
chldr, chldw = os.pipe()
os.set_blocking(chldr, False)
os.set_blocking(chldw, False)
signal.set_wakeup_fd(chldw, warn_on_full_buffer=False)
signal.signal(signal.SIGCHLD, lambda *_: None)
poll.register(chldr, select.POLLIN)
poll.register(0, select.POLLIN)
held = False
while True:
    if term:
        stop()
    if lingering:
        lingering.intersection_update(alive_groups(lingering))
    timeout = None
    if urgent or (held and obuf):
        flush()
        held = False
    elif obuf:
        timeout = 5
        held = True
    try:
        ready = poll.poll(timeout)
    except InterruptedError:
        continue
    readin = False
    chld = False
    for fd, ev in ready:
        if fd == 0:
            readin = True
        elif fd in by_fd:
            read_some(fd)
        elif fd == chldr:
            chld = True
    if chld:
        try:
            while os.read(chldr, 512):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        reap_all()
    if readin:
        try:
            b = os.read(0, 1 << 20)
        except InterruptedError:
            continue
        except OSError:
            b = b''
        if not b:
            stop()
        inbuf += b
        parse()
`;
