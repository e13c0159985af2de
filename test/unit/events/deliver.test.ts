import { afterEach, describe, expect, it } from 'vitest';
import { serviceEvent } from '../../../src/events/cdevents.js';
import { deliverEvent, deliverEvents } from '../../../src/events/deliver.js';
import { deadUrl, startSink, type Sink } from './sink.js';

const event = serviceEvent('deployed', {
  deployId: '01J9Z8Q4W3M6N2P5R7T9V1X3Y5',
  service: 'web',
  action: 'sync',
  outcome: 'succeeded',
  time: new Date('2026-12-01T10:00:00.000Z'),
});

let sink: Sink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

describe('deliverEvent', () => {
  it('POSTs the event in structured mode', async () => {
    sink = await startSink();
    expect(await deliverEvent(`${sink.url}/events`, event)).toBeUndefined();
    const [got] = sink.received;
    expect(got).toMatchObject({ method: 'POST', url: '/events' });
    expect(got!.headers['content-type']).toBe('application/cloudevents+json');
    expect(JSON.parse(got!.body)).toEqual(event);
  });

  it('retries a 500 and delivers on the next attempt', async () => {
    sink = await startSink((n) => (n === 1 ? 500 : 200));
    expect(await deliverEvent(sink.url, event)).toBeUndefined();
    expect(sink.received).toHaveLength(2);
    expect(sink.received[1]!.body).toBe(sink.received[0]!.body);
  });

  it('gives up after the attempt bound with a warning naming the failure', async () => {
    sink = await startSink(() => 503);
    const warning = await deliverEvent(sink.url, event, { maxAttempts: 3 });
    expect(warning).toMatch(/not delivered .* after 3 attempt\(s\): HTTP 503/);
    expect(sink.received).toHaveLength(3);
  });

  it('does not retry a 4xx other than 408 and 429', async () => {
    sink = await startSink(() => 400);
    expect(await deliverEvent(sink.url, event)).toMatch(/HTTP 400/);
    expect(sink.received).toHaveLength(1);
  });

  it('a sink that is down is a warning, within the time bound', async () => {
    const started = Date.now();
    const warning = await deliverEvent(await deadUrl(), event);
    expect(warning).toMatch(
      /not delivered to http:\/\/127\.0\.0\.1:\d+\/ after 4 attempt\(s\): .*ECONNREFUSED/,
    );
    expect(Date.now() - started).toBeLessThan(6_000);
  });

  it('a sink that never answers is cut off by the attempt deadline', async () => {
    sink = await startSink(() => 'hang');
    const started = Date.now();
    const warning = await deliverEvent(sink.url, event, { attemptTimeoutMs: 200, totalTimeoutMs: 1_000 });
    expect(warning).toMatch(/no answer within 200 ms/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('says so for a URL that is not http(s), and never shows its credentials or query', async () => {
    expect(await deliverEvent('ftp://example.com/x', event)).toMatch(/ftp: is not http\(s\)/);
    const warning = await deliverEvents(`${await deadUrl()}/hook?token=s3cret`, [event], {
      maxAttempts: 1,
    });
    expect(warning).toHaveLength(1);
    expect(warning[0]).not.toContain('s3cret');
  });
});
