// Defends against finding out through the portal's sign-in who has an account: the answer to a user
// name (known, unknown, disabled, without email) and to a code for it is the same page, the alias
// aside; only the person who reads the mail learns anything.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { PORTAL_TEST_ENV, PortalBrowser } from '../helpers/portal.js';
import { startServer, type TestServer, describeEachDatabase } from '../helpers/server.js';

describeEachDatabase('portal user enumeration', ({ postgres }) => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ postgres, env: PORTAL_TEST_ENV });
    await server.addIdentity('known', { email: 'known@example.com' });
    await server.addIdentity('phone.only', { phone: '+15555550100' });
    await server.runtime.store.upsertIdentities([{ alias: 'disabled', status: 'disabled', attributes: { email: 'disabled@example.com' } }], () => 'id-disabled', Date.now());
  });
  after(() => server?.close());

  /** The page with the alias and the per-browser form token taken out. */
  const shape = (text: string, alias: string) => text.replaceAll(alias, 'ALIAS').replace(/name="_csrf" value="[^"]+"/g, 'TOKEN');

  it('answers a user name alike whether it exists, is disabled or has no email', async () => {
    const pages = new Map<string, { status: number; page: string }>();
    for (const alias of ['known', 'nobody', 'disabled', 'phone.only']) {
      const browser = new PortalBrowser(server);
      await browser.get('/portal/sign-in');
      const answer = await browser.post('/portal/sign-in', { alias });
      pages.set(alias, { status: answer.status, page: shape(answer.text, alias) });
    }
    const known = pages.get('known')!;
    assert.equal(known.status, 200);
    for (const [alias, answer] of pages) assert.deepEqual(answer, known, alias);
  });

  it('answers a code alike for an unknown user name and for a wrong code of a known one', async () => {
    const pages: Array<{ status: number; page: string }> = [];
    for (const alias of ['known', 'nobody']) {
      const browser = new PortalBrowser(server);
      await browser.get('/portal/sign-in');
      await browser.post('/portal/sign-in', { alias });
      const answer = await browser.post('/portal/sign-in/code', { alias, code: '0000000' });
      pages.push({ status: answer.status, page: shape(answer.text, alias) });
    }
    assert.equal(pages[0]!.status, 400);
    assert.deepEqual(pages[1], pages[0]);
  });
});
