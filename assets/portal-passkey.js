// The portal's passkey buttons (src/web/portal/sections/passkeys.ts and passkey-sign-in.ts): "Add a
// passkey" on the sign-in methods page and "Sign in with a passkey" on the sign-in page. Each runs one
// WebAuthn ceremony with @simplewebauthn/browser against the portal's JSON routes, sending the page's
// form token in x-csrf-token. The texts come from the section's data-msg-* attributes.
'use strict';
(function () {
  var browser = window.SimpleWebAuthnBrowser;

  function formToken() {
    var field = document.querySelector('input[name="_csrf"]');
    return field ? field.value : '';
  }

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': formToken() },
      body: JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  }

  async function jsonOf(answer) {
    try {
      return await answer.json();
    } catch (err) {
      return null;
    }
  }

  /** Wires `button` to `run(say)` (and Enter in `field`, as in a form); hidden where the browser cannot do WebAuthn, saying so instead. */
  function wire(root, button, status, field, run) {
    if (!root || !button || !status) return;
    function say(name, tone) {
      status.textContent = root.getAttribute('data-msg-' + name) || '';
      status.className = 'status' + (tone ? ' ' + tone : '');
      status.hidden = false;
    }
    if (!browser || !browser.browserSupportsWebAuthn()) {
      say('unsupported', 'bad');
      return;
    }
    button.hidden = false;
    if (field) {
      field.addEventListener('keydown', function (event) {
        if (event.key === 'Enter' && !button.disabled) {
          event.preventDefault();
          button.click();
        }
      });
    }
    button.addEventListener('click', async function () {
      button.disabled = true;
      try {
        await run(say);
      } catch (err) {
        say('error', 'bad');
      }
      button.disabled = false;
    });
  }

  /** A 403 from the factor-change rule names, in Location, the page where the person confirms it is them. */
  function followVerification(answer) {
    var to = answer.headers.get('location') || '';
    if (answer.status === 403 && to.indexOf('/portal/verify?') === 0) {
      window.location.assign(to);
      return true;
    }
    return false;
  }

  var add = document.getElementById('passkey-add');
  wire(add, document.getElementById('passkey-add-button'), document.getElementById('passkey-add-status'), document.getElementById('passkey-name'), async function (say) {
    var start = await post('/portal/passkeys/options', {});
    if (!start.ok) {
      if (!followVerification(start)) say('failed', 'bad');
      return;
    }
    var ceremony = await start.json();
    say('waiting');
    var response;
    try {
      response = await browser.startRegistration({ optionsJSON: ceremony.options });
    } catch (err) {
      // Closed, timed out, or an authenticator that already holds one of the person's passkeys.
      say(err && err.name === 'InvalidStateError' ? 'duplicate' : 'cancelled', 'bad');
      return;
    }
    var name = document.getElementById('passkey-name');
    var done = await post('/portal/passkeys/verify', { requestId: ceremony.requestId, response: response, name: name ? name.value : '' });
    var result = await jsonOf(done);
    if (done.ok && result && result.registered) {
      window.location.assign(result.redirect);
      return;
    }
    if (followVerification(done)) return;
    say(done.status === 409 ? 'duplicate' : 'failed', 'bad');
  });

  var signIn = document.getElementById('passkey-sign-in');
  wire(signIn, document.getElementById('passkey-sign-in-button'), document.getElementById('passkey-sign-in-status'), document.getElementById('passkey-alias'), async function (say) {
    var aliasField = document.getElementById('passkey-alias');
    var alias = aliasField.value.trim();
    if (alias === '') {
      say('alias', 'bad');
      aliasField.focus();
      return;
    }
    var start = await post('/portal/sign-in/passkey/options', { alias: alias });
    if (!start.ok) throw new Error('options answered ' + start.status);
    var ceremony = await start.json();
    say('waiting');
    var response;
    try {
      response = await browser.startAuthentication({ optionsJSON: ceremony.options });
    } catch (err) {
      say('cancelled', 'bad');
      return;
    }
    var done = await post('/portal/sign-in/passkey/verify', { requestId: ceremony.requestId, response: response });
    var result = await jsonOf(done);
    if (done.ok && result && typeof result.redirect === 'string') {
      window.location.assign(result.redirect);
      return;
    }
    say('failed', 'bad');
  });
})();
