// The portal's own words in English, German and French (each section keeps its own beside its code).
import type { PageLocale } from '../page.js';

export interface PortalTexts {
  readonly languageName: string;
  readonly languages: string;
  readonly portalName: string;
  readonly signedInAs: (alias: string) => string;
  readonly signOut: string;
  readonly back: string;

  readonly signInTitle: string;
  readonly signInIntro: string;
  readonly userName: string;
  readonly sendCode: string;
  readonly codeTitle: string;
  readonly codeSent: (alias: string) => string;
  readonly code: string;
  readonly codeHint: string;
  readonly signIn: string;
  readonly startAgain: string;
  readonly codeRefused: string;
  readonly codeLocked: string;
  readonly sessionEnded: string;
  readonly signedOut: string;
  readonly aliasInvalid: string;

  readonly invitationTitle: string;
  readonly invitationIntro: string;
  readonly invitationCode: string;
  readonly invitationHint: string;
  readonly continue: string;
  readonly invitationRefused: string;
  readonly signInWithCode: string;

  readonly overviewTitle: string;
  readonly overviewIntro: string;
  readonly welcome: string;
  readonly verifiedNotice: string;

  readonly verifyTitle: string;
  readonly verifyIntro: (address: string) => string;
  readonly verifyCodeSent: (address: string) => string;
  readonly verifyNoEmail: string;
  readonly confirm: string;

  readonly errorTitle: string;
  readonly formUnreadable: string;
  readonly formRefused: string;
  readonly tooManyTitle: string;
  readonly tooMany: (seconds: number) => string;
  readonly serverError: (reference: string) => string;
  readonly unavailable: string;
}

const en: PortalTexts = {
  languageName: 'English',
  languages: 'Language',
  portalName: 'Sign-in portal',
  signedInAs: (alias) => `Signed in as ${alias}`,
  signOut: 'Sign out',
  back: 'Back to your sign-in methods',

  signInTitle: 'Sign in',
  signInIntro: 'Enter your user name. We send a one-time code to the work email address your organisation holds for you.',
  userName: 'User name',
  sendCode: 'Send me a code',
  codeTitle: 'Enter your code',
  codeSent: (alias) => `If ${alias} is a user name we know, a code is on its way to its work email address. It is valid for a few minutes.`,
  code: 'Code from the email',
  codeHint: 'Only digits.',
  signIn: 'Sign in',
  startAgain: 'Ask for a new code, or use another user name',
  codeRefused: 'That code is not right, or it has expired. Check the newest email, or ask for a new code.',
  codeLocked: 'Too many wrong codes. Wait a while, then ask for a new code.',
  sessionEnded: 'Your session has ended. Please sign in again.',
  signedOut: 'You are signed out.',
  aliasInvalid: 'Enter your user name.',

  invitationTitle: 'Welcome',
  invitationIntro: 'Your invitation signs you in once, so that you can set up how you prove it is you.',
  invitationCode: 'Invitation code',
  invitationHint: 'Filled in from the link in your email. If it is empty, open that link again.',
  continue: 'Continue',
  invitationRefused: 'This invitation cannot be used: it was used already, it has expired, or a newer one was sent. Ask your administrator for a new one, or sign in with a code.',
  signInWithCode: 'Sign in with a code instead',

  overviewTitle: 'Your sign-in methods',
  overviewIntro: 'These are the ways you can prove it is you, and where you did so lately.',
  welcome: 'Welcome. Set up at least one way to prove it is you.',
  verifiedNotice: 'Thank you: you have confirmed it is you. You can now make your change.',

  verifyTitle: 'Confirm it is you',
  verifyIntro: (address) => `To change a sign-in method you already have, first confirm it is you: we send a code to ${address}.`,
  verifyCodeSent: (address) => `We sent a code to ${address}.`,
  verifyNoEmail: 'Your organisation holds no work email address for you, so no code can be sent. Ask your administrator.',
  confirm: 'Confirm',

  errorTitle: 'Something went wrong',
  formUnreadable: 'The form could not be read. Go back and try again.',
  formRefused: 'This form has expired or did not come from this site. Go back, reload the page and try again.',
  tooManyTitle: 'Too many attempts',
  tooMany: (seconds) => `Too many attempts. Try again in ${seconds} seconds.`,
  serverError: (reference) => `An error occurred on our side (reference ${reference}). Try again later.`,
  unavailable: 'The service is unavailable for a moment. Try again shortly.',
};

const de: PortalTexts = {
  languageName: 'Deutsch',
  languages: 'Sprache',
  portalName: 'Anmeldeportal',
  signedInAs: (alias) => `Angemeldet als ${alias}`,
  signOut: 'Abmelden',
  back: 'Zurück zu Ihren Anmeldeverfahren',

  signInTitle: 'Anmelden',
  signInIntro: 'Geben Sie Ihren Benutzernamen ein. Wir senden einen Einmalcode an die geschäftliche E-Mail-Adresse, die Ihre Organisation für Sie hinterlegt hat.',
  userName: 'Benutzername',
  sendCode: 'Code senden',
  codeTitle: 'Code eingeben',
  codeSent: (alias) => `Wenn ${alias} ein uns bekannter Benutzername ist, ist ein Code an die zugehörige geschäftliche E-Mail-Adresse unterwegs. Er ist einige Minuten gültig.`,
  code: 'Code aus der E-Mail',
  codeHint: 'Nur Ziffern.',
  signIn: 'Anmelden',
  startAgain: 'Neuen Code anfordern oder anderen Benutzernamen verwenden',
  codeRefused: 'Dieser Code ist falsch oder abgelaufen. Prüfen Sie die neueste E-Mail oder fordern Sie einen neuen Code an.',
  codeLocked: 'Zu viele falsche Codes. Warten Sie eine Weile und fordern Sie dann einen neuen Code an.',
  sessionEnded: 'Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.',
  signedOut: 'Sie sind abgemeldet.',
  aliasInvalid: 'Geben Sie Ihren Benutzernamen ein.',

  invitationTitle: 'Willkommen',
  invitationIntro: 'Ihre Einladung meldet Sie einmalig an, damit Sie einrichten können, wie Sie sich ausweisen.',
  invitationCode: 'Einladungscode',
  invitationHint: 'Aus dem Link in Ihrer E-Mail übernommen. Ist das Feld leer, öffnen Sie den Link erneut.',
  continue: 'Weiter',
  invitationRefused: 'Diese Einladung kann nicht verwendet werden: Sie wurde bereits benutzt, ist abgelaufen, oder es wurde eine neuere gesendet. Bitten Sie Ihre Administration um eine neue oder melden Sie sich mit einem Code an.',
  signInWithCode: 'Stattdessen mit einem Code anmelden',

  overviewTitle: 'Ihre Anmeldeverfahren',
  overviewIntro: 'So können Sie sich ausweisen, und hier haben Sie es zuletzt getan.',
  welcome: 'Willkommen. Richten Sie mindestens ein Verfahren ein, mit dem Sie sich ausweisen.',
  verifiedNotice: 'Danke, Sie haben sich bestätigt. Sie können Ihre Änderung jetzt vornehmen.',

  verifyTitle: 'Bestätigen Sie, dass Sie es sind',
  verifyIntro: (address) => `Um ein bestehendes Anmeldeverfahren zu ändern, bestätigen Sie zuerst, dass Sie es sind: Wir senden einen Code an ${address}.`,
  verifyCodeSent: (address) => `Wir haben einen Code an ${address} gesendet.`,
  verifyNoEmail: 'Ihre Organisation hat keine geschäftliche E-Mail-Adresse für Sie hinterlegt, daher kann kein Code gesendet werden. Wenden Sie sich an Ihre Administration.',
  confirm: 'Bestätigen',

  errorTitle: 'Etwas ist schiefgegangen',
  formUnreadable: 'Das Formular konnte nicht gelesen werden. Gehen Sie zurück und versuchen Sie es erneut.',
  formRefused: 'Dieses Formular ist abgelaufen oder stammt nicht von dieser Website. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.',
  tooManyTitle: 'Zu viele Versuche',
  tooMany: (seconds) => `Zu viele Versuche. Versuchen Sie es in ${seconds} Sekunden erneut.`,
  serverError: (reference) => `Bei uns ist ein Fehler aufgetreten (Referenz ${reference}). Versuchen Sie es später erneut.`,
  unavailable: 'Der Dienst ist kurz nicht erreichbar. Versuchen Sie es gleich noch einmal.',
};

const fr: PortalTexts = {
  languageName: 'Français',
  languages: 'Langue',
  portalName: 'Portail de connexion',
  signedInAs: (alias) => `Connecté en tant que ${alias}`,
  signOut: 'Se déconnecter',
  back: 'Retour à vos moyens de connexion',

  signInTitle: 'Connexion',
  signInIntro: 'Saisissez votre nom d’utilisateur. Nous envoyons un code à usage unique à l’adresse e-mail professionnelle que votre organisation détient pour vous.',
  userName: 'Nom d’utilisateur',
  sendCode: 'Recevoir un code',
  codeTitle: 'Saisissez votre code',
  codeSent: (alias) => `Si ${alias} est un nom d’utilisateur connu, un code est en route vers son adresse e-mail professionnelle. Il est valable quelques minutes.`,
  code: 'Code reçu par e-mail',
  codeHint: 'Chiffres uniquement.',
  signIn: 'Se connecter',
  startAgain: 'Demander un nouveau code ou utiliser un autre nom d’utilisateur',
  codeRefused: 'Ce code est incorrect ou a expiré. Vérifiez le dernier e-mail reçu ou demandez un nouveau code.',
  codeLocked: 'Trop de codes erronés. Patientez un moment, puis demandez un nouveau code.',
  sessionEnded: 'Votre session a pris fin. Veuillez vous reconnecter.',
  signedOut: 'Vous êtes déconnecté.',
  aliasInvalid: 'Saisissez votre nom d’utilisateur.',

  invitationTitle: 'Bienvenue',
  invitationIntro: 'Votre invitation vous connecte une seule fois, pour que vous puissiez configurer la façon de prouver votre identité.',
  invitationCode: 'Code d’invitation',
  invitationHint: 'Repris du lien de votre e-mail. S’il est vide, ouvrez de nouveau ce lien.',
  continue: 'Continuer',
  invitationRefused: 'Cette invitation ne peut pas être utilisée : elle a déjà servi, elle a expiré, ou une plus récente a été envoyée. Demandez-en une nouvelle à votre administrateur, ou connectez-vous avec un code.',
  signInWithCode: 'Se connecter plutôt avec un code',

  overviewTitle: 'Vos moyens de connexion',
  overviewIntro: 'Voici comment vous pouvez prouver votre identité, et où vous l’avez fait récemment.',
  welcome: 'Bienvenue. Configurez au moins un moyen de prouver votre identité.',
  verifiedNotice: 'Merci, votre identité est confirmée. Vous pouvez maintenant faire votre modification.',

  verifyTitle: 'Confirmez votre identité',
  verifyIntro: (address) => `Pour modifier un moyen de connexion existant, confirmez d’abord votre identité : nous envoyons un code à ${address}.`,
  verifyCodeSent: (address) => `Nous avons envoyé un code à ${address}.`,
  verifyNoEmail: 'Votre organisation ne détient aucune adresse e-mail professionnelle pour vous : aucun code ne peut être envoyé. Adressez-vous à votre administrateur.',
  confirm: 'Confirmer',

  errorTitle: 'Une erreur s’est produite',
  formUnreadable: 'Le formulaire n’a pas pu être lu. Revenez en arrière et réessayez.',
  formRefused: 'Ce formulaire a expiré ou ne provient pas de ce site. Revenez en arrière, rechargez la page et réessayez.',
  tooManyTitle: 'Trop de tentatives',
  tooMany: (seconds) => `Trop de tentatives. Réessayez dans ${seconds} secondes.`,
  serverError: (reference) => `Une erreur s’est produite de notre côté (référence ${reference}). Réessayez plus tard.`,
  unavailable: 'Le service est momentanément indisponible. Réessayez dans un instant.',
};

export const PORTAL_TEXTS: Readonly<Record<PageLocale, PortalTexts>> = { en, de, fr };
