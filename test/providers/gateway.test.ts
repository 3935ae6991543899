// Defends the behaviour of every outside call: a timeout per try, retries only where allowed, and no
// calls at all while the provider's circuit is open.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProviderError, ProviderGateway } from '../../src/providers/gateway.js';

const options = { timeoutMs: 50, retries: 2, retryDelayMs: 1, circuit: { failureThreshold: 3, coolDownMs: 60_000 } };
const clock = { now: () => Date.now() };

describe('provider gateway', () => {
  it('aborts a call that outlives the timeout', async () => {
    const gateway = new ProviderGateway('slow', clock, { ...options, retries: 0 });
    const started = Date.now();
    await assert.rejects(
      gateway.call('op', (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), true),
      (err: ProviderError) => err instanceof ProviderError && /did not answer in time/.test(err.message),
    );
    assert.ok(Date.now() - started < 1000);
  });

  it('retries an idempotent call on a retryable error, and never a non-idempotent one', async () => {
    const gateway = new ProviderGateway('flaky', clock, options);
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls < 3) throw new ProviderError('503', { status: 503, retryable: true, outage: true });
      return 'ok';
    };
    assert.equal(await gateway.call('get', flaky, true), 'ok');
    assert.equal(calls, 3);

    calls = 0;
    const push = new ProviderGateway('push', clock, options);
    await assert.rejects(push.call('push', flaky, false));
    assert.equal(calls, 1, 'a push is sent once');
  });

  it('does not retry a refusal (4xx) and does not count it as an outage', async () => {
    const gateway = new ProviderGateway('strict', clock, options);
    let calls = 0;
    const refuse = async () => {
      calls++;
      throw new ProviderError('no such user', { status: 404 });
    };
    for (let i = 0; i < 5; i++) await assert.rejects(gateway.call('get', refuse, true));
    assert.equal(calls, 5, 'one call each, and the circuit never opened');
  });

  it('opens the circuit after repeated outages and makes no further calls', async () => {
    const gateway = new ProviderGateway('down', clock, { ...options, retries: 0 });
    let calls = 0;
    const down = async () => {
      calls++;
      throw new ProviderError('503', { status: 503, retryable: true, outage: true });
    };
    for (let i = 0; i < 3; i++) await assert.rejects(gateway.call('get', down, true));
    await assert.rejects(gateway.call('get', down, true), /unavailable/);
    assert.equal(calls, 3);
  });
});

describe('provider gateway: probes and resets', () => {
  const openCircuit = async (gateway: ProviderGateway) => {
    const down = async () => {
      throw new ProviderError('503', { status: 503, retryable: true, outage: true });
    };
    for (let i = 0; i < 3; i++) await assert.rejects(gateway.call('get', down, true));
    await assert.rejects(gateway.call('get', async () => 'not called', true), /unavailable/);
  };

  it('a probe is made while the circuit is open, and its success closes the circuit', async () => {
    const gateway = new ProviderGateway('probed', clock, { ...options, retries: 0 });
    await openCircuit(gateway);
    let calls = 0;
    assert.equal(await gateway.call('check', async () => ++calls, true, { probe: true }), 1);
    assert.equal(await gateway.call('get', async () => 'ok', true), 'ok', 'ordinary calls go out again');
  });

  it('a failing probe leaves the circuit open', async () => {
    const gateway = new ProviderGateway('still-down', clock, { ...options, retries: 0 });
    await openCircuit(gateway);
    let probes = 0;
    const failing = async () => {
      probes++;
      throw new ProviderError('503', { status: 503, outage: true });
    };
    await assert.rejects(gateway.call('check', failing, true, { probe: true }), /^Error: 503$|503/);
    assert.equal(probes, 1, 'the probe was made');
    await assert.rejects(gateway.call('get', async () => 'not called', true), /unavailable/);
  });

  it('reset closes an open circuit', async () => {
    const gateway = new ProviderGateway('reconfigured', clock, { ...options, retries: 0 });
    await openCircuit(gateway);
    gateway.reset();
    assert.equal(await gateway.call('get', async () => 'ok', true), 'ok');
  });
});

describe('provider gateway: a slow call that fails after the circuit opened', () => {
  it('leaves the circuit open: later calls are still refused', async () => {
    const gateway = new ProviderGateway('late', clock, { ...options, retries: 0 });
    let release!: () => void;
    const slowOutage = new Promise<never>((_, reject) => {
      release = () => reject(new ProviderError('503', { status: 503, retryable: true, outage: true }));
    });
    const inFlight = gateway.call('slow', () => slowOutage, true);
    let calls = 0;
    const down = async () => {
      calls++;
      throw new ProviderError('503', { status: 503, retryable: true, outage: true });
    };
    for (let i = 0; i < 3; i++) await assert.rejects(gateway.call('get', down, true));
    release();
    await assert.rejects(inFlight);
    await assert.rejects(gateway.call('get', down, true), /unavailable/);
    assert.equal(calls, 3, 'no call made after the circuit opened, the late failure notwithstanding');
  });
});
