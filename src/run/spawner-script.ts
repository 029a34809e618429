/**
 * The perl side of the spawner (see spawner.ts), run with `perl -e` so nothing exists on disk.
 * Only modules of perl-base (Debian's Essential package; macOS ships perl too).
 *
 * Protocol, node → perl (stdin), each message a header line then a payload of <len> bytes:
 *   E<envid> <len>\n  KEY=VALUE\0KEY=VALUE...      an environment, sent once, used by id
 *   J<id> <envid> <len>\n  cwd\0stdout\0argv0\0argv1...   start a job; stdout is a path the
 *                                 job's standard output is opened on (like sh's >), or empty
 * python's helper only (lanes.ts; node sends these to it alone):
 *   Q<id> <envid> <after> <len>\n  n\0path1..\0pathn\0cwd\0stdout\0argv...   a job queued
 *                                 behind job <after>: started when <after> exits 0 with its group
 *                                 empty and every path existing (its X then ends in 1), else kept
 *   G<id> 0\n                     start kept job <id> now
 *   C<id> 0\n                     drop queued or kept job <id>: answered F<id> -1 (if it had not
 *                                 started)
 * perl → node (stdout):
 *   S<id> <pid>\n                 started; pid is also the process group id
 *   O<id> <1|2> <len>\n<bytes>    output of the job's stdout (1) or stderr (2)
 *   X<id> <code> <signal> <empty>[ <handed>]\n  exited (code -1 when killed by signal number
 *                                 <signal>); empty is 1 when no member of its process group is
 *                                 left; handed (python) is 1 when the job queued behind it started
 *   F<id> <errno>\n               could not start (fork, chdir or exec failed); after an S
 *                                 when the fork had succeeded. errno + 100000: the stdout
 *                                 path could not be opened
 * Fields are separated by NUL, which no argv element, env entry or path can contain, so any
 * other byte passes through unchanged.
 *
 * Why each piece:
 * - setpgid in the child (and in the parent, so the group exists before node hears of it):
 *   every recipe has its own process group, which node signals on abort and reaps after exit.
 * - An exec-status pipe (close-on-exec): the child writes errno to it only if exec fails. It
 *   is read when the child has exited, so perl never waits for a child to reach exec; a job
 *   that could not exec ends with F instead of X (after its S, so node knew its group).
 * - SIGCHLD writes to a self-pipe watched by select: exits are noticed at once, no polling.
 *   perl's deferred ("safe") signals leave a tiny window (a signal arriving just before the
 *   select call) in which the handler runs only after select returns; the 100 ms timeout
 *   while jobs run is the backstop for that window only, not the way exits are found.
 * - A start message may wait up to 5 ms for the job's exit, so that a cheap recipe costs node
 *   one wake-up, not two; an abort meanwhile is held by node until it knows the group, and
 *   if node dies meanwhile, this process stops the group (below).
 * - On exit the job's pipes are drained without blocking and then closed, before its exit is
 *   reported: the output is complete, and a background grandchild still holding the pipes
 *   cannot hang the job (node reaps the group right after), nor, by writing on, keep perl
 *   draining: at most 1 MiB more is read.
 * - SIGPIPE is ignored here (a write to a dead node returns EPIPE instead of killing us) and
 *   restored to the default in children, which must not inherit an ignored signal.
 * - EOF on stdin means node is gone (even by SIGKILL): TERM the running groups, and the groups
 *   whose leader exited with members left (node reaps those right after; until then they are
 *   "lingering" here), KILL what is left after 1.5 s, and exit. SIGTERM does the same. The
 *   lock's supervisor watches this process's session, which every recipe started here is in
 *   (not each recipe's group: that cost it a wake-up per recipe): when pipe dies it TERMs the
 *   session, waits, KILLs what is left within 2 s, and only then releases the lock.
 */
export const SPAWNER_SCRIPT = String.raw`
use strict;
use POSIX ();
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use Config;

# A child subreaper (prctl PR_SET_CHILD_SUBREAPER, by syscall number: perl has no prctl): the
# orphaned members of a recipe's group are reaped here at once, not by an init that may take
# seconds (see spawner-python.ts).
if ($^O eq 'linux') {
  my %prctl = (x86_64 => 157, aarch64 => 167);
  my ($arch) = $Config{archname} =~ /^(x86_64|aarch64)/;
  syscall($prctl{$arch}, 36, 1, 0, 0, 0) if $arch;
}

my $EINTR = POSIX::EINTR();
my $EAGAIN = POSIX::EAGAIN();
my $WNOHANG = POSIX::WNOHANG();
$SIG{PIPE} = 'IGNORE';

sub nonblock { my $fh = shift; my $f = fcntl($fh, F_GETFL, 0); fcntl($fh, F_SETFL, $f | O_NONBLOCK); }

pipe(my $selfr, my $selfw) or die "pipe: $!";
nonblock($selfr); nonblock($selfw);
$SIG{CHLD} = sub { syswrite($selfw, "c"); };
open(my $null, '<', '/dev/null') or die "/dev/null: $!";

my (%envs, %bypid, %byfd, %lingering);
my $term = 0;
my $rin = '';
vec($rin, 0, 1) = 1;
vec($rin, fileno($selfr), 1) = 1;
my $in = '';
my $cur_env = '';

# Messages to node are collected and written once per turn of the loop, before select: node
# wakes once for messages that are ready together. A start (S) may even wait for one short
# select: a cheap recipe's exit then goes out in the same write as its start.
my $obuf = '';
my $urgent = 0;
sub out { $obuf .= $_[0]; $urgent = 1; }
sub out_start { $obuf .= $_[0]; }
sub flush_out {
  my $off = 0;
  while ($off < length $obuf) {
    my $n = syswrite(STDOUT, $obuf, length($obuf) - $off, $off);
    if (!defined $n) { next if $! == $EINTR; stop(); }
    $off += $n;
  }
  $obuf = '';
  $urgent = 0;
}

sub start_job {
  my ($id, $envid, $payload) = @_;
  my ($cwd, $stdout, @argv) = split /\0/, $payload, -1;
  # The child inherits %ENV: setting it here, once per distinct env, costs less than per child.
  if ($envid ne $cur_env) { %ENV = %{$envs{$envid} || {}}; $cur_env = $envid; }
  my ($or, $ow, $er, $ew, $xr, $xw);
  unless (pipe($or, $ow) && pipe($er, $ew) && pipe($xr, $xw)) { out("F$id " . ($! + 0) . "\n"); return; }
  # TERM is blocked across the fork: the child must not run this process's TERM handler (it
  # would stop the other recipes); it takes the default action instead, once unblocked.
  my $old = POSIX::SigSet->new;
  POSIX::sigprocmask(POSIX::SIG_BLOCK(), POSIX::SigSet->new(POSIX::SIGTERM()), $old);
  my $pid = fork();
  if (defined $pid && $pid == 0) {
    $SIG{TERM} = 'DEFAULT';
    POSIX::sigprocmask(POSIX::SIG_SETMASK(), $old);
  }
  else { POSIX::sigprocmask(POSIX::SIG_SETMASK(), $old); }
  if (!defined $pid) { my $e = $! + 0; close $_ for ($or, $ow, $er, $ew, $xr, $xw); out("F$id $e\n"); return; }
  if ($pid == 0) {
    $SIG{CHLD} = 'DEFAULT';
    $SIG{PIPE} = 'DEFAULT';
    POSIX::setpgid(0, 0);
    POSIX::dup2(fileno($null), 0);
    POSIX::dup2(fileno($ow), 1);
    POSIX::dup2(fileno($ew), 2);
    my $e = 0;
    if (!chdir $cwd) { $e = $! + 0; }
    elsif ($stdout ne '') {
      if (sysopen(my $o, $stdout, POSIX::O_WRONLY() | POSIX::O_CREAT() | POSIX::O_TRUNC(), 0666)) { POSIX::dup2(fileno($o), 1); close $o; }
      else { $e = 100000 + $!; }
    }
    if (!$e) {
      no warnings;
      exec { $argv[0] } @argv;
      $e = $! + 0;
    }
    syswrite($xw, pack('N', $e));
    POSIX::_exit(127);
  }
  close $ow; close $ew; close $xw;
  POSIX::setpgid($pid, $pid);
  nonblock($or); nonblock($er);
  my $job = { id => $id, pid => $pid, x => $xr };
  $bypid{$pid} = $job;
  for ([$or, 1], [$er, 2]) {
    my ($fh, $s) = @$_;
    $byfd{fileno $fh} = [$job, $s, $fh];
    vec($rin, fileno $fh, 1) = 1;
  }
  out_start("S$id $pid\n");
}

sub reap {
  # Every exited child first (orphans too: this process is their subreaper), then the jobs: a
  # group whose last orphan has just died is seen empty.
  my @done;
  while ((my $pid = waitpid(-1, $WNOHANG)) > 0) {
    my $job = delete $bypid{$pid} or next;
    push @done, [$job, $?];
  }
  for (@done) {
    my ($job, $st) = @$_;
    my $pid = $job->{pid};
    for my $fd (grep { $byfd{$_}[0] == $job } keys %byfd) { drain($fd); }
    # The exec-status pipe: errno if exec failed, EOF if exec happened (the child is gone, so
    # this read cannot block).
    my $n;
    do { $n = sysread($job->{x}, my $e, 4); $job->{e} = unpack('N', $e) if $n; } while (!defined $n && $! == $EINTR);
    close $job->{x};
    # Whether the group is empty now (no background job left): then node need not check.
    my $empty = kill(0, -$pid) ? 0 : 1;
    $lingering{$pid} = 1 unless $empty;
    if (defined $job->{e}) { out("F$job->{id} $job->{e}\n"); }
    elsif (POSIX::WIFSIGNALED($st)) { out("X$job->{id} -1 " . POSIX::WTERMSIG($st) . " $empty\n"); }
    else { out("X$job->{id} " . POSIX::WEXITSTATUS($st) . " 0 $empty\n"); }
  }
}

sub drain {
  my $fd = shift;
  my ($job, $s, $fh) = @{$byfd{$fd}};
  # At most 1 MiB more: a background job that keeps writing must not hold up every other job.
  for (my $left = 1 << 20; $left > 0;) {
    my $n = sysread($fh, my $buf, 65536);
    if ($n) { out("O$job->{id} $s $n\n$buf"); $left -= $n; next; }
    next if !defined $n && $! == $EINTR;
    last;
  }
  delete $byfd{$fd};
  vec($rin, $fd, 1) = 0;
  close $fh;
}

sub read_some {
  my $fd = shift;
  my ($job, $s, $fh) = @{$byfd{$fd}};
  my $n = sysread($fh, my $buf, 65536);
  if ($n) { out("O$job->{id} $s $n\n$buf"); return; }
  return if !defined $n && ($! == $EINTR || $! == $EAGAIN);
  delete $byfd{$fd};
  vec($rin, $fd, 1) = 0;
  close $fh;
}

sub parse {
  for (;;) {
    my $nl = index($in, "\n");
    return if $nl < 0;
    my @h = split / /, substr($in, 0, $nl);
    my $len = $h[-1];
    return if length($in) < $nl + 1 + $len;
    my $payload = substr($in, $nl + 1, $len);
    substr($in, 0, $nl + 1 + $len) = '';
    if ($h[0] =~ /^E(\d+)$/) {
      my %e;
      for my $kv (split /\0/, $payload) { my $i = index($kv, '='); $e{substr($kv, 0, $i)} = substr($kv, $i + 1) if $i > 0; }
      $envs{$1} = \%e;
    } elsif ($term) {
      return;
    } elsif ($h[0] =~ /^J(\d+)$/) {
      start_job($1, $h[1], $payload);
    }
  }
}

my $stopping = 0;
sub stop {
  return if $stopping++;
  my @groups = (keys %bypid, keys %lingering);
  kill('TERM', -$_) for @groups;
  for (1 .. 30) {
    while (waitpid(-1, $WNOHANG) > 0) {}
    @groups = grep { kill(0, -$_) } @groups;
    last unless @groups;
    select(undef, undef, undef, 0.05);
  }
  kill('KILL', -$_) for @groups;
  POSIX::_exit(0);
}

# TERM only sets a flag (and wakes select): stop() runs from the loop, never between a child's
# fork and its entry in %bypid, where that child would be missed.
$SIG{TERM} = sub { $term = 1; syswrite($selfw, "t"); };
my $held = 0;
for (;;) {
  stop() if $term;
  # Lingering groups are forgotten once empty (checked only while there are some).
  for my $g (keys %lingering) { delete $lingering{$g} unless kill(0, -$g); }
  # The timeout is a backstop for perl's deferred signals (a TERM or CHLD arriving just before
  # select): short while jobs run, a second otherwise.
  my $timeout = %bypid ? 0.1 : 1;
  if ($urgent || ($held && length $obuf)) { flush_out(); $held = 0; }
  elsif (length $obuf) { $timeout = 0.005; $held = 1; }
  my $n = select(my $rout = $rin, undef, undef, $timeout);
  if ($n < 0) { next if $! == $EINTR; stop(); }
  if (vec($rout, fileno($selfr), 1)) { 1 while sysread($selfr, my $b, 512); }
  for my $fd (keys %byfd) { read_some($fd) if vec($rout, $fd, 1) && $byfd{$fd}; }
  reap();
  if (vec($rout, 0, 1)) {
    my $r = sysread(STDIN, $in, 1 << 20, length $in);
    if ($r) { parse(); }
    elsif (defined $r || ($! != $EINTR && $! != $EAGAIN)) { stop(); }
  }
}
`;
