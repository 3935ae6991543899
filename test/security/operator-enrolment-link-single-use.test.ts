// Defends the operator's enrolment link: it works once (of concurrent redemptions exactly one wins, on
// either database), not after it expired, not after a newer link was issued, and only its keyed hash is
// stored. The passkey challenges of the console are single use too.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { enrolmentHash } from '../../src/core/operator.js';
import { deriveKey } from '../../src/core/secrets.js';
import { masterSecret } from '../../src/runtime.js';
import { SqlOperatorStore } from '../../src/store/operators.js';
import { driverOf, operatorStoreOf } from '../../src/store/index.js';
import { createOperator } from '../helpers/console.js';
import { describeEachDatabase, startServer, type TestServer } from '../helpers/server.js';
import { describeEachStore, type OpenedStore } from '../helpers/stores.js';

const NOW = Date.UTC(2030, 0, 1);

describeEachStore('operator enrolment links and challenges in storage', (target) => {
  let opened: OpenedStore;
  let operators: SqlOperatorStore;
  before(async () => {
    opened = await target.open();
    operators = new SqlOperatorStore(driverOf(opened.store));
  });
  after(() => opened.cleanup());

  it('of concurrent redemptions of one link exactly one gets the operator', async () => {
    const op = await operators.upsertOperator({ id: 'op-1', email: 'a@example.com', role: 'admin', createdAt: NOW });
    await operators.addEnrolment('hash-1', op.id, NOW + 60_000);
    const results = await Promise.all(Array.from({ length: 8 }, () => operators.redeemEnrolment('hash-1', NOW)));
    assert.deepEqual(results.filter((r) => r !== undefined), [op.id]);
    assert.equal(await operators.peekEnrolment('hash-1', NOW), undefined);
  });

  it('an expired link and a replaced link do not work', async () => {
    const op = await operators.upsertOperator({ id: 'op-2', email: 'b@example.com', role: 'viewer', createdAt: NOW });
    await operators.addEnrolment('old', op.id, NOW + 60_000);
    await operators.addEnrolment('new', op.id, NOW + 60_000);
    assert.equal(await operators.redeemEnrolment('old', NOW), undefined, 'a newer link replaces it');
    assert.equal(await operators.redeemEnrolment('new', NOW + 60_000), undefined, 'expired at its instant');
    assert.equal(await operators.redeemEnrolment('new', NOW), op.id);
  });

  it('a challenge is answered once, only as its kind, not after it expired', async () => {
    await operators.addCeremony('c1', 'sign-in', null, NOW + 1000);
    assert.equal(await operators.consumeCeremony('c1', 'enrol', NOW), undefined, 'not as another kind');
    const results = await Promise.all(Array.from({ length: 6 }, () => operators.consumeCeremony('c1', 'sign-in', NOW)));
    assert.equal(results.filter((r) => r !== undefined).length, 1);
    await operators.addCeremony('c2', 'sign-in', null, NOW + 1000);
    assert.equal(await operators.consumeCeremony('c2', 'sign-in', NOW + 1000), undefined);
  });

  it('the same email again renews the operator (one row, the new role)', async () => {
    await operators.upsertOperator({ id: 'x1', email: 'c@example.com', role: 'viewer', createdAt: NOW });
    const renewed = await operators.upsertOperator({ id: 'x2', email: 'c@example.com', role: 'admin', createdAt: NOW + 1 });
    assert.deepEqual([renewed.id, renewed.role], ['x1', 'admin']);
  });
});

describeEachDatabase('operator enrolment link over HTTP', ({ postgres }) => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ postgres });
  });
  after(() => server?.close());

  it('stores only the keyed hash of the token; the page\u2019s options call refuses a used or unknown token', async () => {
    const { token, operatorId } = await createOperator(server, 'new.operator@example.com', 'admin');
    const db = driverOf(server.runtime.store);
    const rows = await db.all<{ token_hash: string }>('SELECT token_hash FROM operator_enrolments WHERE operator_id = ?', [operatorId]);
    const key = deriveKey(masterSecret(server.runtime.config), 'console-enrolment');
    assert.deepEqual(rows.map((r) => r.token_hash), [enrolmentHash(key, token)]);
    assert.ok(!rows[0]!.token_hash.includes(token));

    const page = await fetch(`${server.baseUrl}/console/enrol`);
    const cookie = page.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
    const csrf = /data-csrf="([^"]+)"/.exec(await page.text())![1]!;
    const options = (body: unknown) =>
      fetch(`${server.baseUrl}/console/enrol/options`, { method: 'POST', headers: { 'content-type': 'application/json', origin: server.baseUrl, cookie, 'x-csrf-token': csrf }, body: JSON.stringify(body) });
    assert.equal((await options({ token })).status, 200);
    assert.equal((await options({ token: randomBytes(32).toString('base64url') })).status, 404);
    // Used up (as the enrolment does, once its passkey checked out): the link is refused from then on.
    assert.equal(await operatorStoreOf(server.runtime.store).redeemEnrolment(enrolmentHash(key, token), Date.now()), operatorId);
    assert.equal((await options({ token })).status, 404);
  });
});
