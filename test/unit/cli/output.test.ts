import { describe, expect, it } from 'vitest';
import { useColor, useLiveProgress } from '../../../src/cli/output.js';

const tty = { isTTY: true } as NodeJS.WriteStream;
const pipe = { isTTY: false } as NodeJS.WriteStream;

describe('useColor', () => {
  it('colours a terminal and leaves pipes plain', () => {
    expect(useColor(tty, {})).toBe(true);
    expect(useColor(pipe, {})).toBe(false);
  });

  it('never colours with NO_COLOR, even when forced', () => {
    expect(useColor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(useColor(tty, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    // An empty NO_COLOR does not count (no-color.org).
    expect(useColor(tty, { NO_COLOR: '' })).toBe(true);
  });

  it('follows FORCE_COLOR and a dumb terminal', () => {
    expect(useColor(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor(pipe, { FORCE_COLOR: '' })).toBe(true);
    expect(useColor(tty, { FORCE_COLOR: '0' })).toBe(false);
    expect(useColor(tty, { FORCE_COLOR: 'false' })).toBe(false);
    expect(useColor(tty, { TERM: 'dumb' })).toBe(false);
  });
});

describe('useLiveProgress', () => {
  it('rewrites a live line only on an interactive terminal', () => {
    expect(useLiveProgress(tty, {})).toBe(true);
    expect(useLiveProgress(pipe, {})).toBe(false);
    expect(useLiveProgress(tty, { CI: 'true' })).toBe(false);
    expect(useLiveProgress(tty, { CI: '1' })).toBe(false);
    expect(useLiveProgress(tty, { CI: 'false' })).toBe(true);
    expect(useLiveProgress(tty, { TERM: 'dumb' })).toBe(false);
  });
});
