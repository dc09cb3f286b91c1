/**
 * Calls `onStop` on the first SIGINT or SIGTERM so the command can finish cleanly; a second signal
 * exits at once. Returns a function that removes the handlers.
 */
export function onShutdown(onStop: (signal: NodeJS.Signals) => void): () => void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`\nactivity: ${signal} again, exiting without finishing\n`);
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(
      `\nactivity: ${signal}: finishing what was accepted (press Ctrl-C again to abort)\n`,
    );
    onStop(signal);
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
  return () => {
    process.off('SIGINT', handle);
    process.off('SIGTERM', handle);
  };
}
