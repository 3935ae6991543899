// The console's words in English, German and French. Identifiers, aliases, client ids and audit
// reasons are shown as stored.
import type { PageLocale } from '../page.js';

export interface ConsoleTexts {
  readonly languageName: string;
  readonly languages: string;
  readonly consoleName: string;
  readonly navigation: string;
  readonly nav: { readonly dashboard: string; readonly identities: string; readonly verifications: string; readonly audit: string; readonly providers: string; readonly clients: string; readonly questions: string; readonly keys: string };
  readonly signedInAs: (email: string, role: string) => string;
  readonly roles: { readonly admin: string; readonly viewer: string };
  readonly signOut: string;
  readonly signInTitle: string;
  readonly signInIntro: string;
  readonly signInButton: string;
  readonly signInRefused: string;
  readonly sessionEnded: string;
  readonly signedOut: string;
  readonly enrolTitle: string;
  readonly enrolIntro: string;
  readonly enrolButton: string;
  readonly linkUnusable: string;
  readonly noScript: string;
  readonly working: string;
  readonly errorTitle: string;
  readonly formRefused: string;
  readonly viewerRefused: string;
  readonly formUnreadable: string;
  readonly notFound: string;
  readonly tooMany: (seconds: number) => string;
  readonly unavailable: string;
  readonly serverError: (trackingId: string) => string;
  readonly search: string;
  readonly filter: string;
  readonly next: string;
  readonly none: string;
  readonly saved: string;
  readonly yes: string;
  readonly no: string;
  readonly columns: {
    readonly alias: string; readonly status: string; readonly attributes: string; readonly created: string; readonly time: string; readonly method: string; readonly operation: string;
    readonly outcome: string; readonly client: string; readonly reason: string; readonly requestId: string; readonly name: string; readonly scopes: string; readonly identity: string;
    readonly actions: string; readonly id: string; readonly text: string; readonly locale: string; readonly answers: string; readonly kid: string; readonly age: string; readonly state: string;
    readonly count: string; readonly channel: string; readonly lockedUntil: string; readonly factor: string; readonly since: string; readonly until: string; readonly setting: string; readonly value: string;
  };
  readonly dashboard: { readonly title: string; readonly byMethod: string; readonly deliveryFailures: string; readonly lockouts: string; readonly providers: string; readonly keyAge: string; readonly days: (n: number) => string; readonly configured: string; readonly notConfigured: string };
  readonly identities: { readonly title: string; readonly searchLabel: string; readonly attributes: string; readonly factors: string; readonly lockouts: string; readonly recent: string; readonly unlock: string; readonly noLockout: string; readonly invite: string; readonly inviteHint: string; readonly invited: (to: string, delivered: boolean) => string; readonly unlocked: string; readonly reset: string; readonly removed: string; readonly kba: (n: number) => string; readonly totp: string; readonly passkey: (n: number) => string; readonly missing: string };
  readonly verifications: { readonly title: string; readonly byRequest: string; readonly notFoundRequest: string; readonly record: string };
  readonly audit: { readonly title: string; readonly export: string; readonly csv: string; readonly json: string };
  readonly providers: { readonly title: string; readonly edit: string; readonly enabled: string; readonly maskedKept: string; readonly test: string; readonly testResult: (ok: boolean, text: string) => string; readonly circuit: string; readonly secretsMasked: string };
  readonly clients: { readonly title: string; readonly create: string; readonly createdOnce: string; readonly secret: string; readonly disable: string; readonly delete: string; readonly disabled: string; readonly personalFor: string; readonly scopesHint: string; readonly identityHint: string };
  readonly questions: { readonly title: string; readonly add: string; readonly remove: string; readonly save: string; readonly localeHint: string };
  readonly keys: { readonly title: string; readonly rotate: string; readonly retire: string; readonly current: string; readonly rotated: (kid: string) => string };
}

export const CONSOLE_TEXTS: Readonly<Record<PageLocale, ConsoleTexts>> = {
  en: {
    languageName: 'English',
    languages: 'Languages',
    consoleName: 'MFA console',
    navigation: 'Console',
    nav: { dashboard: 'Dashboard', identities: 'Identities', verifications: 'Verifications', audit: 'Audit log', providers: 'Providers', clients: 'API clients', questions: 'Security questions', keys: 'Signing keys' },
    signedInAs: (email, role) => `Signed in as ${email} (${role})`,
    roles: { admin: 'administrator', viewer: 'viewer' },
    signOut: 'Sign out',
    signInTitle: 'Sign in to the console',
    signInIntro: 'Operators sign in with the passkey they registered from their enrolment link.',
    signInButton: 'Sign in with a passkey',
    signInRefused: 'The passkey was not accepted.',
    sessionEnded: 'Your session has ended. Please sign in again.',
    signedOut: 'You are signed out.',
    enrolTitle: 'Register your passkey',
    enrolIntro: 'Register a passkey for the console. You will sign in with it from now on.',
    enrolButton: 'Register a passkey',
    linkUnusable: 'This enrolment link has expired or has already been used. Ask for a new one.',
    noScript: 'This page needs JavaScript for passkeys.',
    working: 'Waiting for your authenticator…',
    errorTitle: 'Something went wrong',
    formRefused: 'The form was refused. Reload the page and try again.',
    viewerRefused: 'Your role can read the console but not change anything.',
    formUnreadable: 'The request could not be read.',
    notFound: 'Nothing found.',
    tooMany: (s) => `Too many attempts. Try again in ${s} seconds.`,
    unavailable: 'The service is unavailable for a moment. Try again shortly.',
    serverError: (id) => `An unexpected error happened (reference ${id}).`,
    search: 'Search',
    filter: 'Filter',
    next: 'Next page',
    none: 'None.',
    saved: 'Saved.',
    yes: 'yes',
    no: 'no',
    columns: {
      alias: 'Alias', status: 'Status', attributes: 'Attributes', created: 'Created', time: 'Time (UTC)', method: 'Method', operation: 'Operation', outcome: 'Outcome', client: 'Client',
      reason: 'Reason', requestId: 'Request id', name: 'Name', scopes: 'Scopes', identity: 'Identity', actions: 'Actions', id: 'Id', text: 'Text', locale: 'Locale', answers: 'Answers',
      kid: 'Key id', age: 'Age', state: 'State', count: 'Count', channel: 'Channel', lockedUntil: 'Locked until', factor: 'Factor', since: 'From', until: 'To', setting: 'Setting', value: 'Value',
    },
    dashboard: { title: 'Dashboard', byMethod: 'Verifications in the last 24 hours', deliveryFailures: 'Delivery failures in the last 24 hours', lockouts: 'Lockouts in force', providers: 'Providers', keyAge: 'Signing key', days: (n) => `${n} day(s)`, configured: 'configured', notConfigured: 'not configured' },
    identities: {
      title: 'Identities', searchLabel: 'Alias (or its beginning)', attributes: 'Attributes', factors: 'Enrolled factors', lockouts: 'Lockouts', recent: 'Recent verifications', unlock: 'Unlock',
      noLockout: 'No lockout in force.', invite: 'Send invitation', inviteHint: 'Sends a single-use link to the self-service portal to the identity\u2019s work email.',
      invited: (to, delivered) => (delivered ? `Invitation sent to ${to}.` : `The invitation to ${to} could not be delivered.`), unlocked: 'Unlocked.', reset: 'Reset', removed: 'Removed.',
      kba: (n) => `Security questions: ${n} answer(s)`, totp: 'Authenticator app', passkey: (n) => `Passkeys: ${n}`, missing: 'No such identity.',
    },
    verifications: { title: 'Verifications', byRequest: 'Request id', notFoundRequest: 'No verification with this request id.', record: 'Verification' },
    audit: { title: 'Audit log', export: 'Export', csv: 'CSV', json: 'JSON' },
    providers: { title: 'Providers', edit: 'Change the configuration', enabled: 'Enabled', maskedKept: 'A secret left as shown (masked) keeps the stored one, unless the host changes: then enter it in full.', test: 'Test', testResult: (ok, text) => `${ok ? 'Works' : 'Failed'}: ${text}`, circuit: 'Circuit', secretsMasked: 'Secrets are never shown, only masked.' },
    clients: {
      title: 'API clients', create: 'Create client', createdOnce: 'The client was created. Copy its secret now: it is shown only this once.', secret: 'Client secret', disable: 'Disable', delete: 'Delete',
      disabled: 'disabled', personalFor: 'acts for', scopesHint: 'Scopes, separated by spaces or commas', identityHint: 'Identity alias (only for a personal client)',
    },
    questions: { title: 'Security questions', add: 'Add or change a text', remove: 'Remove', save: 'Save', localeHint: 'Locale (empty: the default text)' },
    keys: { title: 'Signing keys', rotate: 'Rotate', retire: 'Tokens signed with earlier keys stop working at once', current: 'current', rotated: (kid) => `New signing key ${kid}.` },
  },
  de: {
    languageName: 'Deutsch',
    languages: 'Sprachen',
    consoleName: 'MFA-Konsole',
    navigation: 'Konsole',
    nav: { dashboard: 'Übersicht', identities: 'Identitäten', verifications: 'Überprüfungen', audit: 'Protokoll', providers: 'Anbieter', clients: 'API-Clients', questions: 'Sicherheitsfragen', keys: 'Signaturschlüssel' },
    signedInAs: (email, role) => `Angemeldet als ${email} (${role})`,
    roles: { admin: 'Administration', viewer: 'Lesezugriff' },
    signOut: 'Abmelden',
    signInTitle: 'Bei der Konsole anmelden',
    signInIntro: 'Betreiber melden sich mit dem Passkey an, den sie über ihren Einladungslink registriert haben.',
    signInButton: 'Mit einem Passkey anmelden',
    signInRefused: 'Der Passkey wurde nicht akzeptiert.',
    sessionEnded: 'Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.',
    signedOut: 'Sie sind abgemeldet.',
    enrolTitle: 'Passkey registrieren',
    enrolIntro: 'Registrieren Sie einen Passkey für die Konsole. Damit melden Sie sich künftig an.',
    enrolButton: 'Passkey registrieren',
    linkUnusable: 'Dieser Link ist abgelaufen oder wurde bereits verwendet. Fordern Sie einen neuen an.',
    noScript: 'Diese Seite braucht JavaScript für Passkeys.',
    working: 'Warte auf Ihren Authenticator …',
    errorTitle: 'Etwas ist schiefgegangen',
    formRefused: 'Das Formular wurde abgelehnt. Laden Sie die Seite neu und versuchen Sie es noch einmal.',
    viewerRefused: 'Ihre Rolle darf die Konsole lesen, aber nichts ändern.',
    formUnreadable: 'Die Anfrage konnte nicht gelesen werden.',
    notFound: 'Nichts gefunden.',
    tooMany: (s) => `Zu viele Versuche. Versuchen Sie es in ${s} Sekunden erneut.`,
    unavailable: 'Der Dienst ist kurz nicht erreichbar. Versuchen Sie es gleich noch einmal.',
    serverError: (id) => `Ein unerwarteter Fehler ist aufgetreten (Referenz ${id}).`,
    search: 'Suchen',
    filter: 'Filtern',
    next: 'Nächste Seite',
    none: 'Keine.',
    saved: 'Gespeichert.',
    yes: 'ja',
    no: 'nein',
    columns: {
      alias: 'Alias', status: 'Status', attributes: 'Attribute', created: 'Angelegt', time: 'Zeit (UTC)', method: 'Verfahren', operation: 'Vorgang', outcome: 'Ergebnis', client: 'Client',
      reason: 'Grund', requestId: 'Anfrage-ID', name: 'Name', scopes: 'Berechtigungen', identity: 'Identität', actions: 'Aktionen', id: 'ID', text: 'Text', locale: 'Sprache', answers: 'Antworten',
      kid: 'Schlüssel-ID', age: 'Alter', state: 'Zustand', count: 'Anzahl', channel: 'Kanal', lockedUntil: 'Gesperrt bis', factor: 'Faktor', since: 'Von', until: 'Bis', setting: 'Einstellung', value: 'Wert',
    },
    dashboard: { title: 'Übersicht', byMethod: 'Überprüfungen der letzten 24 Stunden', deliveryFailures: 'Zustellfehler der letzten 24 Stunden', lockouts: 'Bestehende Sperren', providers: 'Anbieter', keyAge: 'Signaturschlüssel', days: (n) => `${n} Tag(e)`, configured: 'eingerichtet', notConfigured: 'nicht eingerichtet' },
    identities: {
      title: 'Identitäten', searchLabel: 'Alias (oder sein Anfang)', attributes: 'Attribute', factors: 'Eingerichtete Faktoren', lockouts: 'Sperren', recent: 'Letzte Überprüfungen', unlock: 'Entsperren',
      noLockout: 'Keine Sperre aktiv.', invite: 'Einladung senden', inviteHint: 'Sendet einen einmal nutzbaren Link zum Self-Service-Portal an die geschäftliche E-Mail-Adresse.',
      invited: (to, delivered) => (delivered ? `Einladung an ${to} gesendet.` : `Die Einladung an ${to} konnte nicht zugestellt werden.`), unlocked: 'Entsperrt.', reset: 'Zurücksetzen', removed: 'Entfernt.',
      kba: (n) => `Sicherheitsfragen: ${n} Antwort(en)`, totp: 'Authenticator-App', passkey: (n) => `Passkeys: ${n}`, missing: 'Keine solche Identität.',
    },
    verifications: { title: 'Überprüfungen', byRequest: 'Anfrage-ID', notFoundRequest: 'Keine Überprüfung mit dieser Anfrage-ID.', record: 'Überprüfung' },
    audit: { title: 'Protokoll', export: 'Exportieren', csv: 'CSV', json: 'JSON' },
    providers: { title: 'Anbieter', edit: 'Konfiguration ändern', enabled: 'Aktiviert', maskedKept: 'Ein Geheimnis, das so bleibt wie angezeigt (maskiert), behält den gespeicherten Wert, außer wenn sich der Host ändert: dann vollständig eingeben.', test: 'Testen', testResult: (ok, text) => `${ok ? 'Funktioniert' : 'Fehlgeschlagen'}: ${text}`, circuit: 'Schutzschalter', secretsMasked: 'Geheimnisse werden nie angezeigt, nur maskiert.' },
    clients: {
      title: 'API-Clients', create: 'Client anlegen', createdOnce: 'Der Client wurde angelegt. Kopieren Sie das Geheimnis jetzt: Es wird nur dieses eine Mal angezeigt.', secret: 'Client-Geheimnis', disable: 'Deaktivieren', delete: 'Löschen',
      disabled: 'deaktiviert', personalFor: 'handelt für', scopesHint: 'Berechtigungen, durch Leerzeichen oder Kommas getrennt', identityHint: 'Alias der Identität (nur für einen persönlichen Client)',
    },
    questions: { title: 'Sicherheitsfragen', add: 'Text hinzufügen oder ändern', remove: 'Entfernen', save: 'Speichern', localeHint: 'Sprache (leer: der Standardtext)' },
    keys: { title: 'Signaturschlüssel', rotate: 'Wechseln', retire: 'Mit früheren Schlüsseln signierte Tokens sofort ungültig machen', current: 'aktuell', rotated: (kid) => `Neuer Signaturschlüssel ${kid}.` },
  },
  fr: {
    languageName: 'Français',
    languages: 'Langues',
    consoleName: 'Console MFA',
    navigation: 'Console',
    nav: { dashboard: 'Tableau de bord', identities: 'Identités', verifications: 'Vérifications', audit: 'Journal d’audit', providers: 'Fournisseurs', clients: 'Clients d’API', questions: 'Questions de sécurité', keys: 'Clés de signature' },
    signedInAs: (email, role) => `Connecté en tant que ${email} (${role})`,
    roles: { admin: 'administrateur', viewer: 'lecture seule' },
    signOut: 'Se déconnecter',
    signInTitle: 'Connexion à la console',
    signInIntro: 'Les opérateurs se connectent avec la clé d’accès enregistrée depuis leur lien d’inscription.',
    signInButton: 'Se connecter avec une clé d’accès',
    signInRefused: 'La clé d’accès n’a pas été acceptée.',
    sessionEnded: 'Votre session a pris fin. Veuillez vous reconnecter.',
    signedOut: 'Vous êtes déconnecté.',
    enrolTitle: 'Enregistrer votre clé d’accès',
    enrolIntro: 'Enregistrez une clé d’accès pour la console. Vous vous connecterez avec elle désormais.',
    enrolButton: 'Enregistrer une clé d’accès',
    linkUnusable: 'Ce lien a expiré ou a déjà été utilisé. Demandez-en un nouveau.',
    noScript: 'Cette page a besoin de JavaScript pour les clés d’accès.',
    working: 'En attente de votre authentificateur…',
    errorTitle: 'Un problème est survenu',
    formRefused: 'Le formulaire a été refusé. Rechargez la page et réessayez.',
    viewerRefused: 'Votre rôle permet de consulter la console, pas de la modifier.',
    formUnreadable: 'La demande n’a pas pu être lue.',
    notFound: 'Aucun résultat.',
    tooMany: (s) => `Trop de tentatives. Réessayez dans ${s} secondes.`,
    unavailable: 'Le service est momentanément indisponible. Réessayez sous peu.',
    serverError: (id) => `Une erreur inattendue s’est produite (référence ${id}).`,
    search: 'Rechercher',
    filter: 'Filtrer',
    next: 'Page suivante',
    none: 'Aucun.',
    saved: 'Enregistré.',
    yes: 'oui',
    no: 'non',
    columns: {
      alias: 'Alias', status: 'Statut', attributes: 'Attributs', created: 'Créé', time: 'Heure (UTC)', method: 'Moyen', operation: 'Opération', outcome: 'Résultat', client: 'Client',
      reason: 'Motif', requestId: 'Identifiant de requête', name: 'Nom', scopes: 'Portées', identity: 'Identité', actions: 'Actions', id: 'Identifiant', text: 'Texte', locale: 'Langue', answers: 'Réponses',
      kid: 'Identifiant de clé', age: 'Âge', state: 'État', count: 'Nombre', channel: 'Canal', lockedUntil: 'Bloqué jusqu’à', factor: 'Facteur', since: 'Du', until: 'Au', setting: 'Paramètre', value: 'Valeur',
    },
    dashboard: { title: 'Tableau de bord', byMethod: 'Vérifications des dernières 24 heures', deliveryFailures: 'Échecs d’envoi des dernières 24 heures', lockouts: 'Blocages en cours', providers: 'Fournisseurs', keyAge: 'Clé de signature', days: (n) => `${n} jour(s)`, configured: 'configuré', notConfigured: 'non configuré' },
    identities: {
      title: 'Identités', searchLabel: 'Alias (ou son début)', attributes: 'Attributs', factors: 'Facteurs enregistrés', lockouts: 'Blocages', recent: 'Vérifications récentes', unlock: 'Débloquer',
      noLockout: 'Aucun blocage en cours.', invite: 'Envoyer une invitation', inviteHint: 'Envoie un lien à usage unique vers le portail libre-service à l’adresse professionnelle.',
      invited: (to, delivered) => (delivered ? `Invitation envoyée à ${to}.` : `L’invitation à ${to} n’a pas pu être remise.`), unlocked: 'Débloqué.', reset: 'Réinitialiser', removed: 'Supprimé.',
      kba: (n) => `Questions de sécurité : ${n} réponse(s)`, totp: 'Application d’authentification', passkey: (n) => `Clés d’accès : ${n}`, missing: 'Aucune identité de ce nom.',
    },
    verifications: { title: 'Vérifications', byRequest: 'Identifiant de requête', notFoundRequest: 'Aucune vérification avec cet identifiant.', record: 'Vérification' },
    audit: { title: 'Journal d’audit', export: 'Exporter', csv: 'CSV', json: 'JSON' },
    providers: { title: 'Fournisseurs', edit: 'Modifier la configuration', enabled: 'Activé', maskedKept: 'Un secret laissé tel qu’affiché (masqué) conserve la valeur enregistrée, sauf si l’hôte change : saisissez-le alors en entier.', test: 'Tester', testResult: (ok, text) => `${ok ? 'Fonctionne' : 'Échec'} : ${text}`, circuit: 'Disjoncteur', secretsMasked: 'Les secrets ne sont jamais affichés, seulement masqués.' },
    clients: {
      title: 'Clients d’API', create: 'Créer un client', createdOnce: 'Le client a été créé. Copiez son secret maintenant : il n’est affiché qu’une seule fois.', secret: 'Secret du client', disable: 'Désactiver', delete: 'Supprimer',
      disabled: 'désactivé', personalFor: 'agit pour', scopesHint: 'Portées, séparées par des espaces ou des virgules', identityHint: 'Alias de l’identité (client personnel seulement)',
    },
    questions: { title: 'Questions de sécurité', add: 'Ajouter ou modifier un texte', remove: 'Supprimer', save: 'Enregistrer', localeHint: 'Langue (vide : le texte par défaut)' },
    keys: { title: 'Clés de signature', rotate: 'Renouveler', retire: 'Les jetons signés avec les clés précédentes cessent de fonctionner immédiatement', current: 'actuelle', rotated: (kid) => `Nouvelle clé de signature ${kid}.` },
  },
};
