import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Ceph radosgw suites need the Ceph packages: `npm run test:radosgw` runs them.
    exclude: [...configDefaults.exclude, 'test/radosgw/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Node.js 20 is supported; keep the AWS SDK's notice about Node.js 22 out of the test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
