#!/usr/bin/env node
// Node.js 20 is supported here; the AWS SDK's notice that its later releases will need Node.js 22
// would otherwise print before every command that touches AWS.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../dist/cli/main.js');

await main();
