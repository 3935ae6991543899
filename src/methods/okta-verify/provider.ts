// Okta Verify's configuration (the spec's MfaOktaConfig, which has no configProperties): the org (host), the
// API token (accessKey, sealed and masked) and the identity attribute that holds the Okta login.
import type { ProviderConfiguration } from '../method.js';

export const oktaProvider: ProviderConfiguration = {
  schema: 'MfaOktaConfig',
  rules: {
    secretProperties: [],
    showsConfigProperties: false,
    required(config) {
      const problems: string[] = [];
      if (!config.accessKey) problems.push('accessKey: the Okta API token is required');
      if (!config.identityAttribute) problems.push('identityAttribute: required (the attribute holding the Okta login)');
      return problems;
    },
  },
  example: (host) => ({ mfaMethod: 'okta-verify', enabled: true, host, accessKey: '00okta-api-token-for-fuzzing', identityAttribute: 'email' }),
};
