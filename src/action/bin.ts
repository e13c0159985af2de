// Entry point of the Action's bundle (dist/action.js), run by the runner as `node dist/action.js`.
import * as core from '@actions/core';
import { runAction } from './main.js';

runAction().catch((err: unknown) => {
  // runAction reports its own failures; this is a bug in the reporting itself.
  core.setFailed(`nopea: internal error: ${err instanceof Error ? err.message : String(err)}`);
});
