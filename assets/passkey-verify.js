// The hosted passkey verification page (src/methods/passkey/page.ts). The token of the page's URL is in
// its fragment: it is sent, in a request body, to get the ceremony's options and to answer them once.
// The texts come from the page's data attributes, in the page's language.
(function () {
  'use strict';
  var root = document.getElementById('passkey');
  var button = document.getElementById('verify');
  var status = document.getElementById('status');
  var back = document.getElementById('return');
  var browser = window.SimpleWebAuthnBrowser;
  var token = window.location.hash.replace(/^#/, '');
  var options = null;

  function say(name, tone) {
    status.textContent = root.dataset['msg' + name.charAt(0).toUpperCase() + name.slice(1)] || '';
    status.className = 'status' + (tone ? ' ' + tone : '');
    status.hidden = false;
  }

  /** An outcome after which this page can do nothing more: the button goes. */
  function finish(name, tone) {
    say(name, tone);
    button.hidden = true;
    // Keyboard focus was on the button: move it to the way back, when there is one.
    if (!back.hidden) back.focus();
  }

  function post(path, body) {
    // Relative to the page, so the calls follow the page behind a proxy's path prefix.
    return fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  }

  function offerReturn(url) {
    if (!url) return;
    back.href = url;
    back.hidden = false;
  }

  async function load() {
    var answer = await post('verify/options', { token: token });
    if (answer.status === 404 || answer.status === 400) {
      finish('unusable', 'bad');
      return false;
    }
    if (!answer.ok) throw new Error('options answered ' + answer.status);
    options = (await answer.json()).options;
    return true;
  }

  async function verify() {
    button.disabled = true;
    try {
      if (!options && !(await load())) return;
      say('waiting');
      var response;
      try {
        response = await browser.startAuthentication({ optionsJSON: options });
      } catch (err) {
        // Closed, timed out or refused by the person: nothing reached the service, so they may try again.
        say('cancelled', 'bad');
        button.disabled = false;
        return;
      }
      var answer = await post('verify/complete', { token: token, response: response });
      if (answer.status === 404 || answer.status === 400) {
        finish('unusable', 'bad');
        return;
      }
      if (!answer.ok) throw new Error('complete answered ' + answer.status);
      var outcome = await answer.json();
      offerReturn(outcome.returnUrl);
      if (outcome.status === 'SUCCESS') {
        finish(outcome.returnUrl ? 'returning' : 'success', 'good');
        if (outcome.returnUrl) window.setTimeout(function () { window.location.assign(outcome.returnUrl); }, 1500);
      } else {
        finish('failed', 'bad');
      }
    } catch (err) {
      say('error', 'bad');
      options = null;
      button.disabled = false;
    }
  }

  async function start() {
    if (!browser || !browser.browserSupportsWebAuthn()) {
      finish('unsupported', 'bad');
      return;
    }
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) {
      finish('unusable', 'bad');
      return;
    }
    try {
      if (!(await load())) return;
      status.hidden = true;
      button.disabled = false;
    } catch (err) {
      say('error', 'bad');
      button.disabled = false;
    }
  }

  button.addEventListener('click', verify);
  // Another verification URL opened in this tab differs only in its fragment: start over with its token.
  window.addEventListener('hashchange', function () { window.location.reload(); });
  start();
})();
