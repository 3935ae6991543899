// Duo Web's configuration (the spec's MfaDuoConfig): the integration key (ikey) and the application key
// (accessKey, Duo's akey) as Duo's own libraries require them, the secret key (skey) sealed and masked, and
// the identity attribute that holds the Duo username.
import { configText } from '../../core/provider-config.js';
import type { ProviderConfiguration } from '../method.js';

export const duoProvider: ProviderConfiguration = {
  schema: 'MfaDuoConfig',
  rules: {
    secretProperties: ['skey'],
    showsConfigProperties: true,
    required(config) {
      const problems: string[] = [];
      // Lengths as Duo's own libraries require them.
      if (configText(config, 'ikey')?.length !== 20) problems.push('configProperties.ikey: the integration key must be 20 characters');
      if (configText(config, 'skey')?.length !== 40) problems.push('configProperties.skey: the secret key must be 40 characters');
      if ((config.accessKey?.length ?? 0) < 40) problems.push('accessKey: the application key must be at least 40 characters');
      if (!config.identityAttribute) problems.push('identityAttribute: required (the attribute holding the Duo username)');
      return problems;
    },
  },
  example: (host) => ({
    mfaMethod: 'duo-web',
    enabled: true,
    host,
    accessKey: 'A'.repeat(40),
    identityAttribute: 'email',
    configProperties: { ikey: DUO_EXAMPLE_IKEY, skey: 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ecvxsYLyHd5' },
  }),
};

/** The integration key of the example configuration; example signed responses name it. */
export const DUO_EXAMPLE_IKEY = 'DIWJ8X6AEYOR5OMC6TQ1';
