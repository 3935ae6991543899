// The person's recent verifications, from the audit trail: when, which method, what happened, the
// outcome and which application asked. Something they do not recognise is theirs to report.
import type { AuditEvent, AuditOperation, AuditOutcome } from '../../../core/audit.js';
import { isOperatorActor } from '../../../core/operator.js';
import type { Store } from '../../../core/ports.js';
import { OPERATOR_CLIENT_ID } from '../../../services/operator.js';
import { html, type PageLocale } from '../../page.js';
import type { PortalSection } from '../section.js';

interface Texts {
  readonly title: string;
  readonly intro: string;
  readonly none: string;
  readonly columns: { readonly time: string; readonly method: string; readonly event: string; readonly outcome: string; readonly application: string };
  readonly methods: Readonly<Record<string, string>>;
  /** What an operation is called for one method, by 'method:operation' ('send' names a code elsewhere, 'reset' answers). */
  readonly byMethod: Readonly<Record<string, string>>;
  readonly operations: Readonly<Record<AuditOperation, string>>;
  readonly outcomes: Readonly<Record<AuditOutcome, string>>;
  readonly thisPortal: string;
  readonly administrator: string;
  readonly unknownApplication: string;
}

const TEXTS: Readonly<Record<PageLocale, Texts>> = {
  en: {
    title: 'Recent verifications',
    intro: 'The latest times someone proved, or tried to prove, it is you. If you do not recognise one, tell your administrator.',
    none: 'No verifications yet.',
    columns: { time: 'Time (UTC)', method: 'Method', event: 'What', outcome: 'Outcome', application: 'Application' },
    methods: { token: 'One-time code', kba: 'Security questions', 'duo-web': 'Duo', 'okta-verify': 'Okta Verify', rsa: 'RSA SecurID', totp: 'Authenticator app', passkey: 'Passkey' },
    byMethod: { 'passkey:send': 'Passkey requested', 'totp:reset': 'App removed' },
    operations: { send: 'Code sent', authenticate: 'Check', verify: 'Check', poll: 'Answer received', unlock: 'Unlocked', reset: 'Answers removed', change: 'Changed', 'sign-in': 'Signed in' },
    outcomes: { SENT: 'Sent', SUCCESS: 'Succeeded', FAILED: 'Failed', LOCKOUT: 'Locked out', NOT_ENOUGH_DATA: 'Not set up' },
    thisPortal: 'This portal',
    administrator: 'An administrator',
    unknownApplication: 'An application no longer registered',
  },
  de: {
    title: 'Letzte Überprüfungen',
    intro: 'Die letzten Male, an denen jemand nachgewiesen hat oder nachweisen wollte, dass er Sie ist. Erkennen Sie einen Eintrag nicht, informieren Sie Ihre Administration.',
    none: 'Noch keine Überprüfungen.',
    columns: { time: 'Zeit (UTC)', method: 'Verfahren', event: 'Vorgang', outcome: 'Ergebnis', application: 'Anwendung' },
    methods: { token: 'Einmalcode', kba: 'Sicherheitsfragen', 'duo-web': 'Duo', 'okta-verify': 'Okta Verify', rsa: 'RSA SecurID', totp: 'Authenticator-App', passkey: 'Passkey' },
    byMethod: { 'passkey:send': 'Passkey angefordert', 'totp:reset': 'App entfernt' },
    operations: { send: 'Code gesendet', authenticate: 'Prüfung', verify: 'Prüfung', poll: 'Antwort erhalten', unlock: 'Entsperrt', reset: 'Antworten entfernt', change: 'Geändert', 'sign-in': 'Angemeldet' },
    outcomes: { SENT: 'Gesendet', SUCCESS: 'Erfolgreich', FAILED: 'Fehlgeschlagen', LOCKOUT: 'Gesperrt', NOT_ENOUGH_DATA: 'Nicht eingerichtet' },
    thisPortal: 'Dieses Portal',
    administrator: 'Die Administration',
    unknownApplication: 'Eine nicht mehr registrierte Anwendung',
  },
  fr: {
    title: 'Vérifications récentes',
    intro: 'Les dernières fois où quelqu’un a prouvé, ou tenté de prouver, qu’il s’agit de vous. Si vous n’en reconnaissez pas une, prévenez votre administrateur.',
    none: 'Aucune vérification pour l’instant.',
    columns: { time: 'Heure (UTC)', method: 'Moyen', event: 'Opération', outcome: 'Résultat', application: 'Application' },
    methods: { token: 'Code à usage unique', kba: 'Questions de sécurité', 'duo-web': 'Duo', 'okta-verify': 'Okta Verify', rsa: 'RSA SecurID', totp: 'Application d’authentification', passkey: 'Clé d’accès' },
    byMethod: { 'passkey:send': 'Clé d’accès demandée', 'totp:reset': 'Application supprimée' },
    operations: { send: 'Code envoyé', authenticate: 'Vérification', verify: 'Vérification', poll: 'Réponse reçue', unlock: 'Débloqué', reset: 'Réponses supprimées', change: 'Modifié', 'sign-in': 'Connecté' },
    outcomes: { SENT: 'Envoyé', SUCCESS: 'Réussi', FAILED: 'Échoué', LOCKOUT: 'Bloqué', NOT_ENOUGH_DATA: 'Non configuré' },
    thisPortal: 'Ce portail',
    administrator: 'Un administrateur',
    unknownApplication: 'Une application qui n’est plus enregistrée',
  },
};

export const RECENT_ID = 'recent';

export interface RecentDeps {
  readonly store: Pick<Store, 'queryAudit' | 'findClient'>;
  /** The client id the portal's own sends and checks carry. */
  readonly portalClientId: string;
  /** How many events the section shows. */
  readonly limit?: number;
}

export function recentSection(deps: RecentDeps): PortalSection {
  const limit = deps.limit ?? 15;
  return {
    id: RECENT_ID,
    async overview(ctx) {
      const t = TEXTS[ctx.locale];
      // Callers name a person by alias or by id (SailPoint sends the id); both are the person's.
      const names = [...new Set([ctx.identity.alias, ctx.identity.id])];
      const found = (await Promise.all(names.map((alias) => deps.store.queryAudit({ alias, limit })))).flat();
      const events = found.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).slice(0, limit);
      const applications = await applicationNames(events, t);
      const time = new Intl.DateTimeFormat(ctx.locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
      const rows = events.map(
        (e) => html`<tr><td>${time.format(e.at)}</td><td>${t.methods[e.method] ?? e.method}</td><td>${t.byMethod[`${e.method}:${e.operation}`] ?? t.operations[e.operation]}</td><td class="outcome-${e.outcome.toLowerCase()}">${t.outcomes[e.outcome]}</td><td>${applications.get(e.clientId)}</td></tr>`,
      );
      const table =
        events.length === 0
          ? html`<p class="muted">${t.none}</p>`
          : html`<table><thead><tr><th scope="col">${t.columns.time}</th><th scope="col">${t.columns.method}</th><th scope="col">${t.columns.event}</th><th scope="col">${t.columns.outcome}</th><th scope="col">${t.columns.application}</th></tr></thead><tbody>${rows}</tbody></table>`;
      return html`<section aria-labelledby="${RECENT_ID}-title" id="${RECENT_ID}">
<h2 id="${RECENT_ID}-title">${t.title}</h2>
<p class="hint">${t.intro}</p>
${table}
</section>`;
    },
  };

  async function applicationNames(events: readonly AuditEvent[], t: Texts): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for (const clientId of new Set(events.map((e) => e.clientId))) {
      if (clientId === deps.portalClientId) names.set(clientId, t.thisPortal);
      else if (clientId === OPERATOR_CLIENT_ID || isOperatorActor(clientId)) names.set(clientId, t.administrator);
      else names.set(clientId, (await deps.store.findClient(clientId))?.name ?? t.unknownApplication);
    }
    return names;
  }
}
