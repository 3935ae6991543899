// What a method is to the rest of the service: one descriptor (src/methods/<id>/index.ts), listed once in
// the registry (src/methods/index.ts). Everything the service keeps per method is read from descriptors:
// the method enums, the provider configuration calls, the OpenAPI document, the fuzz fixtures, the runtime
// wiring, the lockouts an operator ends and retention keeps. docs/methods.md says how to add one.
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { ProviderRules } from '../core/provider-config.js';
import type { AuditSink, Clock, RateCounter, RetentionPolicy, Sender, Store } from '../core/ports.js';
import type { RandomBytes } from '../core/secrets.js';
import type { Sealer } from '../auth/seal.js';
import type { ProviderGateway } from '../providers/gateway.js';
import type { ProviderFetch } from '../providers/http.js';
import type { FactorChangeRule } from '../services/factor-change.js';
import type { FailedCheckLimit } from '../services/failed-checks.js';
import type { HasOtherFactor } from '../services/factors.js';
import type { ProviderConfigs, ProviderTester } from '../services/provider-configs.js';
import type { SqlDatabase } from '../store/driver.js';
import type { ProviderPoller } from './poll.js';

export type HttpVerb = 'get' | 'put' | 'post' | 'delete';

/** One operation of this service's own (an extension), described in our own words. */
export interface OpenApiOperation {
  /** Under /beta the document adds `Beta` to it. */
  readonly operationId: string;
  readonly tags: readonly string[];
  readonly summary: string;
  readonly description?: string;
  readonly parameters?: readonly unknown[];
  readonly requestBody?: unknown;
  readonly responses: Readonly<Record<string, { readonly description: string; readonly content?: unknown }>>;
}

export interface MethodOpenApi {
  /** Operations of the official spec the method serves under /v3 and /beta, by spec path and verb. */
  readonly official?: ReadonlyArray<readonly [string, HttpVerb]>;
  /** Official configuration operations the versioned MFA Configuration API v1 serves too, at /mfa/v1. */
  readonly configurationV1?: ReadonlyArray<readonly [string, HttpVerb]>;
  /** This service's extensions, served under /v3 and /beta: by path (without the prefix), then verb. */
  readonly extensions?: Readonly<Record<string, Partial<Record<HttpVerb, OpenApiOperation>>>>;
  /** Its public routes (BuiltMethod.publicRoutes), at their own path under /mfa/{id}/ at the root: no bearer token. */
  readonly public?: Readonly<Record<string, Partial<Record<HttpVerb, OpenApiOperation>>>>;
}

/** Values for example requests; the fuzz test draws them from its seeded generator. */
export interface ExampleSource {
  /** The alias of an identity the test knows. */
  alias(): string;
  /** An email address of such an identity, or of nobody. */
  email(): string;
  /** The ids of the security questions the test created. */
  questionIds(): readonly string[];
  /** Any text: in the fuzz test, often a hostile one. */
  text(): string;
  /** A string of this many decimal digits. */
  digits(length: number): string;
  /** A whole number from `min` to `max`, both included. */
  integer(min: number, max: number): number;
  /** This many random bytes, in hex. */
  hex(bytes: number): string;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** The current time in seconds since the epoch. */
  nowSeconds(): number;
}

export interface MethodExamples {
  /**
   * A valid body for each of the method's routes that takes one, by `VERB /path` as the OpenAPI document
   * names it without /v3 or /beta (`POST /mfa/rsa/verify`). The fuzz test sends them, and mutations of
   * them, so that every handler is reached past validation.
   */
  readonly requests: Readonly<Record<string, (source: ExampleSource) => unknown>>;
}

/** The configuration of a method that relies on an outside provider (GET/PUT /mfa/{id}/config, test, delete). */
export interface ProviderConfiguration {
  /** The spec's schema of the configuration calls: MfaOktaConfig has no configProperties, MfaDuoConfig has. */
  readonly schema: 'MfaDuoConfig' | 'MfaOktaConfig';
  /** Which fields are secret and what an enabled configuration needs (pure: src/core/provider-config.ts). */
  readonly rules: ProviderRules;
  /** A configuration that passes the rules, with the provider at `host` (the fuzz test seeds one). */
  example(host: string): Readonly<Record<string, unknown>>;
}

/** The lockouts a method keeps per identity: an operator's unlock ends them; retention keeps their rows. */
export interface LockoutPolicy {
  /** How long a failure counts toward a lockout: rows younger than this are not pruned. */
  readonly failureWindowSeconds: number;
}

/** What a method's build is given: the service's shared parts, built once by the runtime. */
export interface MethodContext {
  /** Every store part; a method hands each of its services only the parts it uses. */
  readonly store: Store;
  /** The store's database, for a method's own store part over its own tables (docs/methods.md). */
  readonly sql: SqlDatabase;
  readonly clock: Clock;
  readonly randomBytes: RandomBytes;
  /** The audit trail, which also counts each failed check against its client (src/services/failed-checks.ts). */
  readonly audit: AuditSink;
  /** The rate counter every process shares (Redis, or the store). */
  readonly counter: RateCounter;
  /**
   * The per-client budget of failed checks. Routes marked `limitsFailedChecks` are held to it by a hook
   * before their handler; a handler may admit the call itself instead, so that the budget's read goes with
   * its own (one statement on the store).
   */
  readonly failedChecks: Pick<FailedCheckLimit, 'admit'>;
  /** Delivery of messages to people (counted by the metrics when they are on). */
  readonly sender: Sender;
  /** The service's logger. */
  readonly logger: Logger;
  /** A key derived from the master secret for one purpose (a label of its own per use). */
  deriveKey(purpose: string): Buffer;
  /** Seals a secret a method must keep readable (an authenticator app's), under the master secret. */
  readonly sealer: Sealer;
  /** The factor-change rule, for a method whose factor an identity can replace (docs/security.md). */
  readonly factorChange: FactorChangeRule;
  /**
   * Whether an identity has a factor of another kind than the one named (security answers, an authenticator
   * app, passkeys): a first factor of one kind beside another is a change under that rule.
   */
  readonly hasOtherFactor: HasOtherFactor;
  readonly providers: {
    readonly configs: ProviderConfigs;
    /** The HTTP client that enforces where providers may be (docs/providers.md). */
    readonly fetch: ProviderFetch;
    /**
     * The gateway (timeouts, retries, circuit) the method's provider calls go through, named `name` in
     * errors and metrics and logging under `component`: saving the method's configuration resets its circuit.
     */
    gateway(options: { readonly name: string; readonly component: string; readonly timeoutMs?: number }): ProviderGateway;
  };
  /** Runs `close` when the runtime closes, before the store closes. */
  onClose(close: () => Promise<void>): void;
}

/** What a method's build gives the service; `Service` is what other parts (the portal) may call. */
export interface BuiltMethod<Service = unknown> {
  /** The method's service, for the parts of the service outside the API that use it (the portal). */
  readonly service?: Service;
  /** Its routes under /v3 and /beta, behind the bearer check, the identity binding and the failed-check gate. */
  readonly routes?: FastifyPluginAsync;
  /**
   * Routes at the root of the server, under /mfa/{id}/, with no bearer check, identity binding or
   * failed-check gate: a page a person's browser opens (a hosted page), authenticated its own way. Each
   * one is described in `openapi.public`.
   */
  readonly publicRoutes?: FastifyPluginAsync;
  /** Its routes in the versioned MFA Configuration API v1, at `base` (behind the bearer check and identity binding). */
  readonly configurationV1Routes?: FastifyPluginAsync<{ readonly base: string }>;
  /** Asks where a PENDING verification of the method stands (POST /mfa/{id}/poll), recording the outcome. */
  readonly poller?: ProviderPoller;
  /** GET /mfa/{id}/test and `mfa-controller check`: whether a configuration works. */
  readonly tester?: ProviderTester;
  /** Deletes the method's own rows that no answer depends on any more, with every prune; how many. */
  readonly prune?: (policy: RetentionPolicy) => Promise<number>;
}

/** What a method's author writes: `S` is the method's slice of the configuration. */
export interface MethodSpec<Id extends string, S, P extends ProviderConfiguration | undefined, Service = unknown> {
  readonly id: Id;
  /** The settings it reads, picked from the one configuration (src/config.ts). */
  readonly settings: (config: Config) => S;
  /** Whether (and how) it keeps per-identity lockouts. */
  readonly lockout?: (settings: S) => LockoutPolicy;
  /** Its provider configuration, or undefined when it relies on no outside provider. */
  readonly provider: P;
  readonly openapi: MethodOpenApi;
  readonly examples: MethodExamples;
  /** Builds its services at start-up. */
  build(context: MethodContext, settings: S): BuiltMethod<Service> | Promise<BuiltMethod<Service>>;
}

/** A method as the registry holds it: its settings applied where they are used. */
export interface MethodDescriptor<Id extends string = string, P extends ProviderConfiguration | undefined = ProviderConfiguration | undefined, Service = unknown> {
  readonly id: Id;
  readonly provider: P;
  readonly openapi: MethodOpenApi;
  readonly examples: MethodExamples;
  /** Whether it keeps per-identity lockouts (an operator's unlock ends them). */
  readonly keepsLockouts: boolean;
  /** Its lockouts under this configuration; undefined when it keeps none. */
  lockout(config: Config): LockoutPolicy | undefined;
  build(context: MethodContext, config: Config): Promise<BuiltMethod<Service>>;
}

export function defineMethod<Id extends string, S, P extends ProviderConfiguration | undefined, Service = unknown>(spec: MethodSpec<Id, S, P, Service>): MethodDescriptor<Id, P, Service> {
  return {
    id: spec.id,
    provider: spec.provider,
    openapi: spec.openapi,
    examples: spec.examples,
    keepsLockouts: spec.lockout !== undefined,
    lockout: (config) => spec.lockout?.(spec.settings(config)),
    build: async (context, config) => spec.build(context, spec.settings(config)),
  };
}

/** The service a descriptor's build gives (BuiltMethod.service). */
export type ServiceOf<D> = D extends MethodDescriptor<string, infer _P, infer S> ? S : never;
