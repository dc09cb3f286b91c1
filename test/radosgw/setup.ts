import type { TestProject } from 'vitest/node';
import { CEPH_COMMANDS, type RadosgwConnection, startRadosgw } from '../support/radosgw.js';
import { missingPrograms } from '../support/requires.js';

declare module 'vitest' {
  export interface ProvidedContext {
    radosgw: RadosgwConnection;
  }
}

/**
 * Starts one throwaway Ceph cluster for the whole run, where Ceph is installed (start-up is the slow part) and hands its
 * gateway to the test files through `inject('radosgw')`. The returned teardown stops every process
 * by its id, whether the tests passed or not.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Without Ceph the suites skip, or fail under CI (test/support/requires.ts): nothing to start.
  if (missingPrograms(CEPH_COMMANDS).length > 0) return async () => undefined;
  const cluster = await startRadosgw();
  const { endpoint, startMs } = cluster.connection;
  process.stdout.write(
    `radosgw ready at ${endpoint} in ${(startMs / 1000).toFixed(1)} s (pids ${cluster.pids.join(', ')})\n`,
  );
  project.provide('radosgw', cluster.connection);
  return () => cluster.close();
}
