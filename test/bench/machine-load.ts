import { readFile } from 'node:fs/promises';

/** Linux's USER_HZ, the unit of /proc/stat; 100 on every mainstream build. */
const TICKS_PER_SECOND = 100;

export interface MachineCpu {
  /** CPU-seconds spent on anything (user, system, interrupts, steal) since boot. */
  busySeconds: number;
  /** Busy plus idle and iowait: CPU-seconds that have elapsed over all CPUs. */
  totalSeconds: number;
}

/**
 * The whole machine's CPU account. A bench on a shared machine measures its neighbours too; set
 * beside the bench's own processes' CPU, this shows when a run was crowded and should be discounted.
 */
export async function machineCpu(): Promise<MachineCpu> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no aggregate cpu line in /proc/stat');
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
  return { busySeconds: busy / TICKS_PER_SECOND, totalSeconds: (busy + (idle ?? 0) + (iowait ?? 0)) / TICKS_PER_SECOND };
}

export function machineCpuSince(before: MachineCpu, after: MachineCpu): MachineCpu {
  return { busySeconds: after.busySeconds - before.busySeconds, totalSeconds: after.totalSeconds - before.totalSeconds };
}
