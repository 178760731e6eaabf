// What every bench needs around its run: timestamped progress on stderr, and its
// namespaces, pins and files removed however the process ends.

/** One progress line on stderr, with the time of day. */
export function progress(m: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);
}

/** Runs `cleanup` once: on normal exit and on SIGINT, SIGTERM and SIGHUP (then exits 130).
 *  It must be synchronous, since 'exit' handlers cannot wait. */
export function cleanUpOnExit(cleanup: () => void): void {
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    cleanup();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      progress(`${sig}: cleaning up`);
      once();
      process.exit(130);
    });
  }
  process.on('exit', once);
}
