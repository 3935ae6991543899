// The console's passkey pages (src/web/console): signing in, and registering a passkey from an
// enrolment link whose token is in the fragment (never sent to a server in a URL, never in a Referer).
// Calls carry the pre-session form token in a header; texts come from the page's data attributes.
(function () {
  'use strict';
  var root = document.getElementById('console-passkey');
  if (!root) return;
  var button = document.getElementById('passkey');
  var status = document.getElementById('status');
  var browser = window.SimpleWebAuthnBrowser;
  var kind = root.dataset.kind;
  var token = window.location.hash.replace(/^#/, '');
  if (kind === 'enrol' && token) {
    // Out of the address bar and history; kept on the language links so the choice does not lose it.
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    var languages = document.querySelectorAll('a[hreflang]');
    for (var i = 0; i < languages.length; i++) languages[i].hash = token;
  }

  function say(text, tone) {
    status.textContent = text;
    status.className = 'status' + (tone ? ' ' + tone : '');
    status.setAttribute('role', tone === 'bad' ? 'alert' : 'status');
    status.hidden = false;
  }

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': root.dataset.csrf },
      body: JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  }

  async function run() {
    button.disabled = true;
    say(root.dataset.working, '');
    try {
      var base = kind === 'enrol' ? '/console/enrol/' : '/console/sign-in/';
      var extra = kind === 'enrol' ? { token: token } : {};
      var started = await post(base + 'options', extra);
      if (!started.ok) throw new Error('refused');
      var options = (await started.json()).options;
      var response = kind === 'enrol' ? await browser.startRegistration({ optionsJSON: options }) : await browser.startAuthentication({ optionsJSON: options });
      var answered = await post(base + 'verify', Object.assign({ response: response }, extra));
      if (!answered.ok) throw new Error('refused');
      window.location.assign((await answered.json()).redirect);
    } catch (err) {
      say(root.dataset.refused, 'bad');
      button.disabled = kind === 'enrol' && !token;
    }
  }

  button.addEventListener('click', run);
  if (kind === 'enrol' && !/^[A-Za-z0-9_-]{43}$/.test(token)) {
    say(root.dataset.refused, 'bad');
    return;
  }
  button.disabled = false;
})();
