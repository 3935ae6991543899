// One-time token by email, end to end, through SailPoint's own SDK: send, read the code, authenticate,
// poll until SUCCESS. See README.md in this folder.
//
//   SAIL_BASE_URL       the service, default http://127.0.0.1:8080 (no /v3: the SDK adds it)
//   SAIL_CLIENT_ID      an API client (npx mfa-controller clients create --name my-app --scopes sp:scopes:all --json)
//   SAIL_CLIENT_SECRET  its secret
//   USER_ALIAS          the person to verify, default will.albin (must have an email address)
//   OUTBOX_FILE         the service's outbox (data/outbox.jsonl where `npm start` runs); without it the code is
//                       asked for on the terminal: read it with `npx mfa-controller outbox --last 1`
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Configuration, MFAControllerApi } from 'sailpoint-api-client';

const baseurl = (process.env.SAIL_BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const clientId = process.env.SAIL_CLIENT_ID;
const clientSecret = process.env.SAIL_CLIENT_SECRET;
const userAlias = process.env.USER_ALIAS ?? 'will.albin';
const outboxFile = process.env.OUTBOX_FILE;
const deliveryType = 'EMAIL_WORK';

if (!clientId || !clientSecret) {
  console.error('Set SAIL_CLIENT_ID and SAIL_CLIENT_SECRET (from `npx mfa-controller clients create --name my-app --scopes sp:scopes:all --json`).');
  process.exit(2);
}

/** Bytes in the outbox before our send: the message for it is written after them. */
const outboxSize = () => (outboxFile && existsSync(outboxFile) ? statSync(outboxFile).size : 0);

/** The code in the first message written to the outbox after `offset` (for this request, when entries name one). */
async function codeFromOutbox(offset, requestId) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const entries = existsSync(outboxFile)
      ? readFileSync(outboxFile).subarray(offset).toString('utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line))
      : [];
    const entry = entries.find((e) => e.requestId === requestId) ?? entries.at(-1);
    const code = entry && /\b(\d{6,10})\b/.exec(entry.body)?.[1];
    if (code) return code;
    await sleep(100);
  }
  throw new Error(
    `no message reached ${outboxFile} within 10 s. Is this the data directory of the running service? ` +
      `A send to an unknown alias, or to one without an email address, writes nothing (start the service with MFA_EXPLICIT_ERRORS=true to be told why).`,
  );
}

async function codeFromTerminal() {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await terminal.question('Code from the message (`npx mfa-controller outbox --last 1` shows it): ')).trim();
  } finally {
    terminal.close();
  }
}

try {
  const mfa = new MFAControllerApi(new Configuration({ baseurl, tokenUrl: `${baseurl}/oauth/token`, clientId, clientSecret }));

  const offset = outboxSize();
  const sent = await mfa.createSendToken({ sendTokenRequest: { userAlias, deliveryType } });
  const requestId = sent.data.requestId;
  console.log(`send: ${sent.data.status}, requestId ${requestId}`);

  const token = outboxFile ? await codeFromOutbox(offset, requestId) : await codeFromTerminal();
  const checked = await mfa.sendTokenAuthRequest({ tokenAuthRequest: { token, userAlias, deliveryType } });
  console.log(`authenticate: ${checked.data.status}`);
  // A wrong code leaves the request PENDING (another try may follow, up to the limit): stop here.
  if (checked.data.status !== 'SUCCESS') process.exit(1);

  // The poll is how another part of an application (or SailPoint) learns the outcome of the request.
  let status = 'PENDING';
  for (let tries = 0; status === 'PENDING' && tries < 20; tries++) {
    if (tries > 0) await sleep(500);
    status = (await mfa.pingVerificationStatus({ method: 'token', verificationPollRequest: { requestId } })).data.status;
  }
  console.log(`poll: ${status}`);
  process.exit(status === 'SUCCESS' ? 0 : 1);
} catch (error) {
  // The SDK rejects with an AxiosError: the service's answer is in error.response.
  const answer = error.response ? ` (HTTP ${error.response.status}: ${JSON.stringify(error.response.data)})` : '';
  console.error(`failed: ${error.message}${answer}`);
  process.exit(1);
}
