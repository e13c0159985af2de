#!/usr/bin/env node
// The `nopea` executable. It only turns on Node's compile cache (Node 22.8 and later; on Node 20 there
// is none) before anything else is loaded: the code a command loads is then compiled from V8's cached
// bytecode on later runs on the same machine (tens of milliseconds of every run's start-up; TypeScript's
// tsc does the same). The cache lives where Node keeps it (NODE_COMPILE_CACHE, else the temporary
// directory) and NODE_DISABLE_COMPILE_CACHE=1 turns it off.
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import('./run.js');
