#!/usr/bin/env node
// Entry point of the agent image: runs the JavaScript that `npm run build:agent` compiled
// into dist/, with no TypeScript loader in the process. tsx's loader (a hooks thread and
// a transpiled copy of every module) costs the agent ~85 MB of RSS and some CPU on every
// call of a nested named function (esbuild's keepNames); bin/kpx.js keeps running the
// sources directly, for a checkout with no build step.
await import('../dist/src/cli.js');
