/** Live progress: one line redrawn in place on a terminal, plain periodic lines otherwise. */
export interface Progress {
  stop(): void;
}

export interface ProgressOptions {
  /** Defaults to whether stderr is a terminal. */
  tty?: boolean;
  /** Defaults to 200 ms on a terminal, 5 s otherwise. */
  intervalMs?: number;
  out?: NodeJS.WritableStream;
}

export function startProgress(render: () => string, options: ProgressOptions = {}): Progress {
  const out = options.out ?? process.stderr;
  const tty = options.tty ?? Boolean(process.stderr.isTTY);
  const interval = options.intervalMs ?? (tty ? 200 : 5_000);
  const started = Date.now();
  const draw = () => {
    if (tty) out.write(`\r\x1b[K${render()}`);
    else out.write(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${render()}\n`);
  };
  const timer = setInterval(draw, interval);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (tty) out.write('\r\x1b[K');
    },
  };
}

const numberFormat = new Intl.NumberFormat('en-US');

export function formatCount(n: number): string {
  return numberFormat.format(Math.round(n));
}
