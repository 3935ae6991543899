// The one-time token method (docs/token-method.md): a code sent by email, SMS or voice, then checked.
import { DELIVERY_TYPES } from '../../core/model.js';
import { loadTemplates, renderMessage } from '../../delivery/templates.js';
import { defineMethod } from '../method.js';
import { tokenRoutes } from './routes.js';
import { TokenService } from './service.js';

export const token = defineMethod({
  id: 'token',
  settings: (config) => ({ policy: config.token, limits: config.rateLimits, explicitErrors: config.explicitErrors, delivery: config.delivery }),
  lockout: (settings) => ({ failureWindowSeconds: settings.policy.failureWindowSeconds }),
  provider: undefined,
  openapi: {
    official: [
      ['/mfa/token/send', 'post'],
      ['/mfa/token/authenticate', 'post'],
    ],
  },
  examples: {
    requests: {
      'POST /mfa/token/send': (source) => ({ userAlias: source.alias(), deliveryType: source.pick(DELIVERY_TYPES) }),
      'POST /mfa/token/authenticate': (source) => ({ token: source.digits(6), userAlias: source.alias(), deliveryType: source.pick(DELIVERY_TYPES) }),
    },
  },
  async build(context, settings) {
    const { delivery } = settings;
    const templates = delivery.templatesDir ? await loadTemplates(delivery.templatesDir) : undefined;
    const service = new TokenService({
      store: context.store,
      sender: context.sender,
      audit: context.audit,
      counter: context.counter,
      clock: context.clock,
      randomBytes: context.randomBytes,
      hashKey: context.deriveKey('token-hmac'),
      policy: settings.policy,
      limits: settings.limits,
      explicitErrors: settings.explicitErrors,
      onDeliveryError: (err, requestId) => context.logger.warn({ requestId, error: (err as Error).message }, 'token delivery failed'),
      compose: (input) => renderMessage({ ...input, locale: input.locale ?? delivery.defaultLocale, defaultLocale: delivery.defaultLocale, templates }),
    });
    return { service, routes: tokenRoutes(service, context.failedChecks) };
  },
});
