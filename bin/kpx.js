#!/usr/bin/env node
// Entry point for the `kpx` command. Runs the TypeScript sources through tsx so that a
// fresh checkout needs no separate build step; `npm run build` type-checks the same files.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli.ts');
