import { afterEach } from 'vitest';
import type { Collector } from '../../src/collector/index.js';
import { type CliOptions, type CliResult, startCli } from '../support/cli.js';

export interface RunningCollector {
  /** `http://127.0.0.1:PORT` */
  base: string;
  child: ReturnType<typeof startCli>['child'];
  done: Promise<CliResult>;
  /** SIGTERM, then the command's result. */
  stop(): Promise<CliResult>;
}

/** Starts `activity collect ARGS… --port 0` and waits for the address it prints. */
export async function startCollect(args: string[], options: CliOptions = {}): Promise<RunningCollector> {
  const { child, done } = startCli(['collect', '--port', '0', ...args], options);
  let stdout = '';
  const base = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/[^,\s]+)/.exec(stdout);
      if (match?.[1]) {
        child.stdout?.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    void done.then((result) =>
      reject(new Error(`activity collect exited (${result.code}) before listening: ${result.stderr}`)),
    );
  });
  return {
    base,
    child,
    done,
    stop() {
      child.kill('SIGTERM');
      return done;
    },
  };
}

/**
 * Collectors a test file starts, in its process (`inProcess`) or as `activity collect` (`cli`), each
 * closed or stopped after every test.
 */
export function useCollectors(): { inProcess: Collector[]; cli: RunningCollector[] } {
  const inProcess: Collector[] = [];
  const cli: RunningCollector[] = [];
  afterEach(async () => {
    await Promise.all(inProcess.splice(0).map((collector) => collector.close()));
    for (const collector of cli.splice(0)) if (collector.child.exitCode === null) await collector.stop();
  });
  return { inProcess, cli };
}
