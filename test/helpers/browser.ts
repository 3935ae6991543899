// Pages are tested as a person uses them: Debian's Chromium driven by playwright-core. Without a
// Chromium the browser suites are skipped and say so; passkeys use Chromium's virtual authenticator.
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium to drive: MFA_TEST_CHROMIUM, else Debian's (apt-get install -y chromium). */
export function findChromium(): string | undefined {
  const configured = process.env.MFA_TEST_CHROMIUM;
  if (configured) return existsSync(configured) ? configured : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

export const NO_BROWSER =
  'no Chromium found: browser tests skipped (apt-get install -y chromium, or set MFA_TEST_CHROMIUM to its path)';

/** Chromium as this machine can run it: headless, as root, with no calls home (the network is closed). */
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--metrics-recording-only',
];

export interface BrowserHarness {
  /** The running browser (valid inside the suite's tests). */
  readonly browser: () => Browser;
}

/**
 * A suite that needs a browser: one Chromium for its tests, closed after them; skipped, saying why,
 * when there is none.
 */
export function describeWithBrowser(name: string, body: (harness: BrowserHarness) => void): void {
  const executablePath = findChromium();
  if (!executablePath) {
    describe(name, { skip: NO_BROWSER }, () => {});
    return;
  }
  describe(name, () => {
    let running: Browser | undefined;
    before(async () => {
      running = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
    });
    after(async () => {
      await running?.close();
    });
    body({
      browser: () => {
        if (!running) throw new Error('the browser is not started yet');
        return running;
      },
    });
  });
}

export interface WatchedPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Every request the page made to anywhere other than the service: must stay empty. */
  readonly outsideRequests: string[];
  /** Console errors and refused resources (a CSP violation shows here). */
  readonly consoleErrors: string[];
}

/** A fresh context (no cookies) on the service at `baseUrl`, watching what the page asks for. */
export async function openPage(browser: Browser, baseUrl: string, options: { locale?: string } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ locale: options.locale ?? 'en-US', viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  const origin = new URL(baseUrl).origin;
  const outsideRequests: string[] = [];
  const consoleErrors: string[] = [];
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('data:') && new URL(url).origin !== origin) outsideRequests.push(url);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  return { page, context, outsideRequests, consoleErrors };
}

export interface VirtualAuthenticator {
  readonly id: string;
  readonly session: CDPSession;
  /** The credentials the authenticator holds (id and sign count), as Chromium reports them. */
  credentials(): Promise<Array<{ credentialId: string; signCount: number; isResidentCredential: boolean }>>;
  /** Whether the next ceremonies succeed user verification (a person who cancels or fails the check). */
  setUserVerified(verified: boolean): Promise<void>;
}

/**
 * Chromium's virtual authenticator (DevTools Protocol, WebAuthn domain): a platform authenticator with
 * resident keys and user verification that answers every ceremony on this page's context.
 */
export async function addVirtualAuthenticator(page: Page): Promise<VirtualAuthenticator> {
  const session = await page.context().newCDPSession(page);
  await session.send('WebAuthn.enable');
  const { authenticatorId } = await session.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    id: authenticatorId,
    session,
    async credentials() {
      const { credentials } = await session.send('WebAuthn.getCredentials', { authenticatorId });
      return credentials.map((c) => ({ credentialId: c.credentialId, signCount: c.signCount, isResidentCredential: c.isResidentCredential }));
    },
    async setUserVerified(verified) {
      await session.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: verified });
    },
  };
}

const IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url));

/** Saves the page as docs/images/<name>.png, the picture the docs show. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(IMAGES, { recursive: true });
  const path = `${IMAGES}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
