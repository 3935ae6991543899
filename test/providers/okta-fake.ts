// A local server speaking the parts of Okta's management API the Okta Verify method uses (getUser,
// listUsers, listFactors, verifyFactor, getFactorTransactionStatus), with Okta's error model and rate-limit
// headers, and switches for outages, rate limits and a server that never answers.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFactor {
  id: string;
  factorType: string;
  provider: string;
  status: string;
}

export interface FakeUser {
  id: string;
  login: string;
  factors: FakeFactor[];
}

export interface RecordedCall {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface FakeResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface FakeOkta {
  readonly url: string;
  readonly token: string;
  readonly calls: RecordedCall[];
  /** Calls whose path matches, optionally with the method. */
  count(path: RegExp, method?: string): number;
  addUser(login: string, factors?: Array<Partial<FakeFactor>>): FakeUser;
  /** The factorResults the next polls of every new transaction of this user answer, in turn (the last repeats). */
  script(login: string, results: string[]): void;
  /** Answer every request with this (an outage, a rate limit) until cleared with undefined. */
  failWith(response: FakeResponse | undefined): void;
  /** Never answer (to test timeouts) until set back to false. */
  hang(on: boolean): void;
  /** Delay transaction-status answers, so concurrent polls overlap. */
  transactionDelayMs: number;
  close(): Promise<void>;
}

const oktaError = (status: number, errorCode: string, errorSummary: string): FakeResponse => ({
  status,
  body: { errorCode, errorSummary, errorLink: errorCode, errorId: `oae${Math.random().toString(36).slice(2, 12)}`, errorCauses: [] },
});

export const NOT_FOUND = oktaError(404, 'E0000007', 'Not found: Resource not found: x (User)');
export const RATE_LIMITED = (resetInSeconds: number): FakeResponse => ({
  ...oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.'),
  headers: {
    'x-rate-limit-limit': '600',
    'x-rate-limit-remaining': '0',
    'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + resetInSeconds),
  },
});
export const UNAVAILABLE = oktaError(503, 'E0000009', 'Internal Server Error');

export async function startFakeOkta(token = 'okta-api-token-0123456789'): Promise<FakeOkta> {
  const users = new Map<string, FakeUser>();
  const scripts = new Map<string, string[]>();
  const transactions = new Map<string, string[]>();
  const calls: RecordedCall[] = [];
  let failure: FakeResponse | undefined;
  let hanging = false;
  let nextId = 1;

  // Okta's GET /api/v1/users/{id} takes the id, the login, or the login's short name (the part before the
  // @) when no other user has the same one.
  const findUser = (idOrLogin: string): FakeUser | undefined => {
    const wanted = idOrLogin.toLowerCase();
    for (const user of users.values()) if (user.id === idOrLogin || user.login.toLowerCase() === wanted) return user;
    const byShortName = [...users.values()].filter((user) => user.login.split('@')[0]!.toLowerCase() === wanted);
    return byShortName.length === 1 ? byShortName[0] : undefined;
  };

  const send = (res: ServerResponse, response: FakeResponse) => {
    res.writeHead(response.status, {
      'content-type': 'application/json',
      'x-rate-limit-limit': '600',
      'x-rate-limit-remaining': '599',
      'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + 60),
      ...response.headers,
    });
    res.end(response.body === undefined ? '' : JSON.stringify(response.body));
  };

  const route = async (req: IncomingMessage, body: string): Promise<FakeResponse> => {
    if (req.headers.authorization !== `SSWS ${token}`) return oktaError(401, 'E0000011', 'Invalid token provided');
    const url = new URL(req.url ?? '/', 'http://fake');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    // ['api','v1','users', userId?, 'factors', factorId?, 'verify' | 'transactions', transactionId?]
    if (parts[0] !== 'api' || parts[1] !== 'v1' || parts[2] !== 'users') return NOT_FOUND;
    if (parts.length === 3 && req.method === 'GET') {
      return { status: 200, body: [...users.values()].slice(0, Number(url.searchParams.get('limit') ?? 200)).map(userBody) };
    }
    const user = findUser(parts[3] ?? '');
    if (!user) return NOT_FOUND;
    if (parts.length === 4 && req.method === 'GET') return { status: 200, body: userBody(user) };
    if (parts[4] !== 'factors') return NOT_FOUND;
    if (parts.length === 5 && req.method === 'GET') return { status: 200, body: user.factors };
    // Okta's factor paths take the user's id, not the login.
    if (parts[3] !== user.id) return NOT_FOUND;
    const factor = user.factors.find((f) => f.id === parts[5]);
    if (!factor) return NOT_FOUND;
    if (parts.length === 7 && parts[6] === 'verify' && req.method === 'POST') {
      if (!req.headers['user-agent'] || !req.headers['x-forwarded-for']) return oktaError(400, 'E0000001', 'Api validation failed: User-Agent and X-Forwarded-For');
      const transactionId = `v2mst.${nextId++}`;
      transactions.set(transactionId, [...(scripts.get(user.login) ?? ['WAITING'])]);
      const numberMatching = body !== '' && (JSON.parse(body) as { useNumberMatchingChallenge?: boolean }).useNumberMatchingChallenge === true;
      const href = `${fake.url}/api/v1/users/${user.id}/factors/${factor.id}/transactions/${transactionId}`;
      return {
        status: 201,
        body: {
          expiresAt: new Date(Date.now() + 300_000).toISOString(),
          factorResult: 'WAITING',
          _links: { poll: { href, hints: { allow: ['GET'] } }, cancel: { href, hints: { allow: ['DELETE'] } } },
          ...(numberMatching ? { _embedded: { challenge: { correctAnswer: 72 } } } : {}),
        },
      };
    }
    if (parts.length === 8 && parts[6] === 'transactions' && req.method === 'GET') {
      const results = transactions.get(parts[7] ?? '');
      if (!results) return NOT_FOUND;
      if (fake.transactionDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, fake.transactionDelayMs));
      const result = results.length > 1 ? results.shift()! : (results[0] ?? 'WAITING');
      const href = `${fake.url}${url.pathname}`;
      return {
        status: 200,
        body:
          result === 'WAITING'
            ? { expiresAt: new Date(Date.now() + 300_000).toISOString(), factorResult: result, profile: { credentialId: user.login }, _links: { poll: { href } } }
            : { factorResult: result },
      };
    }
    return NOT_FOUND;
  };

  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      if (hanging) return;
      if (failure) return send(res, failure);
      route(req, body).then(
        (response) => send(res, response),
        () => send(res, UNAVAILABLE),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const fake: FakeOkta = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    calls,
    transactionDelayMs: 0,
    count: (path, method) => calls.filter((c) => path.test(c.path) && (method === undefined || c.method === method)).length,
    addUser(login, factors = [{}]) {
      const id = `00u${nextId++}`;
      const user: FakeUser = {
        id,
        login,
        factors: factors.map((f, i) => ({ id: `opf${id}${i}`, factorType: 'push', provider: 'OKTA', status: 'ACTIVE', ...f })),
      };
      users.set(login, user);
      return user;
    },
    script: (login, results) => void scripts.set(login, results),
    failWith: (response) => void (failure = response),
    hang: (on) => void (hanging = on),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return fake;
}

const userBody = (user: FakeUser) => ({ id: user.id, status: 'ACTIVE', profile: { login: user.login, email: user.login } });
