import { describe, expect, it } from 'vitest';
import { NopeaError } from '../../../src/errors.js';
import { PROBLEMS_SHOWN, printProblems, useColor, useLiveProgress } from '../../../src/cli/output.js';

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

describe('printProblems', () => {
  it('prints the first problems one per line and counts the rest', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const problems = Array.from({ length: 100_000 }, (_, i) => ({
      message: `document ${i + 1} is not a Kubernetes object`,
      origin: { file: 'all.yaml', line: i + 1 },
    }));
    printProblems(new NopeaError('input', problems), stream);
    expect(lines).toHaveLength(PROBLEMS_SHOWN + 1);
    expect(lines[0]).toBe('error: all.yaml:1: document 1 is not a Kubernetes object\n');
    expect(lines.at(-1)).toBe('error: and 99,950 more problems (-o json lists them all)\n');
  });
});
