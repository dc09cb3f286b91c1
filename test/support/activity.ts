// Runs the `activity` command from the TypeScript sources, so tests need no build.
import { main } from '../../src/cli/main.js';

await main();
