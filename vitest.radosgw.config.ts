import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The suites against Ceph radosgw: one cluster for the run (test/radosgw/setup.ts), one file at a
// time so the end-to-end run has the two cores to itself. Needs the Debian packages ceph-mon,
// ceph-osd and radosgw; `npm run test:radosgw` builds first, for the CLI test.
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/radosgw/**/*.test.ts'],
    exclude: [...configDefaults.exclude],
    globalSetup: ['test/radosgw/setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
