// CPU accounting from /proc, so a row can say how much CPU each side spent per request and how busy
// the machine was with other work meanwhile (other engineers' tests share these 2 cores).
import { readFileSync } from 'node:fs';

const read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** All live descendants of `pid` (nginx master → worker). */
export function descendants(pid) {
  const out = [];
  const walk = (p) => {
    const tasks = read(`/proc/${p}/task/${p}/children`);
    for (const c of (tasks ?? '').trim().split(/\s+/).filter(Boolean).map(Number)) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** utime+stime of one process (all threads), plus reaped children when `withReaped`, in clock ticks. */
function ticks(pid, withReaped = false) {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return 0;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after ")": state is f[0], so utime (field 14) is f[11], stime f[12], cutime f[13], cstime f[14].
  const own = Number(f[11]) + Number(f[12]);
  return withReaped ? own + Number(f[13]) + Number(f[14]) : own;
}

/** CPU ticks of a process's main thread (task id = pid) alone; the rest of its ticks are other threads. */
export const mainThreadTicks = (pid) => {
  if (!pid) return 0;
  const stat = read(`/proc/${pid}/task/${pid}/stat`);
  if (!stat) return 0;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
};

/** CPU ticks of a process tree (the server and its workers). */
export const treeTicks = (pid) => (pid ? [pid, ...descendants(pid)].reduce((sum, p) => sum + ticks(p), 0) : 0);

/** Ticks of this process plus children it has reaped (wrk, once it exited). */
export const selfTicks = () => ticks(process.pid, true);

/** Busy ticks of the whole machine (all CPUs). */
export function machineBusyTicks() {
  const line = (read('/proc/stat') ?? '').split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const [user, nice, system, , iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  void iowait; // waiting for disk is not CPU use
  return user + nice + system + irq + softirq + steal;
}

// Linux USER_HZ is 100 on every distribution kernel; /proc values are in these units.
export const TICK_US = 10_000;
