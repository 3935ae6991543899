// The portal's only script: on the invitation page, it moves the token from the link's fragment (which
// never reaches a server or a Referer) into the form, drops it from the address bar and history, and
// carries it along when the person switches the page's language.
'use strict';
(function () {
  var field = document.getElementById('invitation');
  var token = window.location.hash.slice(1);
  if (!field || !/^[A-Za-z0-9_-]{43}$/.test(token)) return;
  field.value = token;
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  var languages = document.querySelectorAll('a[hreflang]');
  for (var i = 0; i < languages.length; i++) languages[i].hash = token;
  var button = document.getElementById('continue');
  if (button) button.focus();
})();
