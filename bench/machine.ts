import { cpus, loadavg, totalmem } from 'node:os';

/** The machine figures come from, for BENCHMARKS.md: results on a shared machine need its load beside them. */
export interface Machine {
  cpu: string;
  cores: number;
  memory_gb: number;
  node: string;
  platform: string;
}

export function describeMachine(): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memory_gb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The 1-minute load average, rounded: above the core count, other work was competing for the CPU. */
export function load(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}
