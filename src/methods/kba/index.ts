// Security questions (docs/kba.md): an identity enrols answers, a check compares them as argon2id hashes.
import { defineMethod, type ExampleSource } from '../method.js';
import { AnswerHasher } from './answer-hasher.js';
import { kbaConfigRoutes, kbaRoutes } from './routes.js';
import { KbaService } from './service.js';

export const kba = defineMethod({
  id: 'kba',
  settings: (config) => ({ policy: config.kba, defaultLocale: config.delivery.defaultLocale }),
  lockout: (settings) => ({ failureWindowSeconds: settings.policy.attemptWindowSeconds }),
  provider: undefined,
  openapi: {
    official: [
      ['/mfa/kba/config', 'get'],
      ['/mfa/kba/config/answers', 'post'],
      ['/mfa/kba/authenticate', 'post'],
    ],
    configurationV1: [
      ['/mfa/kba/config', 'get'],
      ['/mfa/kba/config/answers', 'post'],
    ],
  },
  examples: {
    requests: {
      'POST /mfa/kba/config/answers': answers,
      'POST /mfa/kba/authenticate': answers,
    },
  },
  async build(context, { policy, defaultLocale }) {
    const hasher = new AnswerHasher(
      { memoryKib: policy.argon2MemoryKib, timeCost: policy.argon2TimeCost, parallelism: policy.argon2Parallelism },
      policy.maxConcurrentHashes,
      policy.maxQueuedHashes,
    );
    await hasher.warmUp();
    const service = new KbaService({
      store: context.store,
      clock: context.clock,
      counter: context.counter,
      enrolmentLimits: policy,
      randomBytes: context.randomBytes,
      hasher,
      policy,
      defaultLocale,
      factorChange: context.factorChange,
      hasOtherFactor: context.hasOtherFactor,
      audit: context.audit,
    });
    return {
      service,
      routes: kbaRoutes(service),
      configurationV1Routes: async (app, { base }) => {
        await app.register(kbaConfigRoutes, { kbaService: service, base });
      },
    };
  },
});

/** Answers to all of the test's questions or all but one: the enrolled answer ('right') or any text. */
function answers(source: ExampleSource): unknown {
  const ids = source.questionIds();
  const left = source.chance(0.5) ? source.pick(ids) : undefined;
  return ids.filter((id) => id !== left).map((id) => ({ id, answer: source.chance(0.5) ? 'right' : source.text() }));
}
