// The site's only script (the pages' CSP is script-src 'self': no inline scripts). Every page
// works without it; each part below only runs where its elements are.
(function () {
  // Tell the server this browser's UTC offset (minutes east of UTC), used to show times when
  // the viewer has not chosen a time zone in their profile.
  var off = -new Date().getTimezoneOffset();
  document.cookie = "tz_offset=" + off + "; path=/; max-age=31536000; SameSite=Lax";

  // Invitation page: the password checklist, ticked as the password is typed, and Show/Hide.
  var pw = document.getElementById('password');
  var rules = document.getElementById('rules');
  if (pw && rules) {
    var min = parseInt(rules.dataset.min, 10) || 0;
    var tests = {
      upper: function (v) { return /\p{Lu}/u.test(v); },
      lower: function (v) { return /\p{Ll}/u.test(v); },
      digit: function (v) { return /[0-9]/.test(v); },
      length: function (v) { return Array.from(v).length >= min; }
    };
    var tick = function () {
      rules.querySelectorAll('li').forEach(function (li) {
        var t = tests[li.dataset.rule];
        if (t) { li.classList.toggle('met', t(pw.value)); }
      });
    };
    pw.addEventListener('input', tick);
    tick();
    var show = document.getElementById('show');
    if (show) {
      show.hidden = false;
      show.addEventListener('click', function () {
        var hidden = pw.type === 'password';
        pw.type = hidden ? 'text' : 'password';
        show.textContent = hidden ? 'Hide' : 'Show';
      });
    }
  }

  // Invitation link page: Copy.
  var copy = document.getElementById('copy'), link = document.getElementById('link');
  if (copy && link) {
    copy.hidden = false;
    copy.addEventListener('click', function () {
      link.select();
      if (navigator.clipboard) { navigator.clipboard.writeText(link.value); } else { document.execCommand('copy'); }
      copy.textContent = 'Copied';
    });
  }
})();

// Passkeys (WebAuthn): buttons with data-passkey="register" | "sign-in" | "second-step". The
// server sends options as WebAuthn JSON (binary fields base64url) and takes the answer back the
// same way. Errors are shown in the element #passkey-status.
(function () {
  var buttons = document.querySelectorAll('button[data-passkey]');
  if (!buttons.length) { return; }
  var status = document.getElementById('passkey-status');
  var say = function (text) { if (status) { status.textContent = text; status.hidden = false; } };
  if (!window.PublicKeyCredential) {
    say('This browser does not support passkeys.');
    return;
  }
  var toBuf = function (s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) { s += '='; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  };
  var toB64 = function (buf) {
    var bytes = new Uint8Array(buf), bin = '';
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };
  var creationOptions = function (o) {
    var pk = o.publicKey;
    pk.challenge = toBuf(pk.challenge);
    pk.user.id = toBuf(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    return { publicKey: pk };
  };
  var requestOptions = function (o) {
    var pk = o.publicKey;
    pk.challenge = toBuf(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
    return { publicKey: pk, mediation: o.mediation };
  };
  var created = function (c) {
    return {
      id: c.id, rawId: toB64(c.rawId), type: c.type, extensions: {},
      response: {
        attestationObject: toB64(c.response.attestationObject),
        clientDataJSON: toB64(c.response.clientDataJSON)
      }
    };
  };
  var asserted = function (c) {
    return {
      id: c.id, rawId: toB64(c.rawId), type: c.type, extensions: {},
      response: {
        authenticatorData: toB64(c.response.authenticatorData),
        clientDataJSON: toB64(c.response.clientDataJSON),
        signature: toB64(c.response.signature),
        userHandle: c.response.userHandle ? toB64(c.response.userHandle) : null
      }
    };
  };
  var post = function (url, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { throw new Error(j.detail || ('HTTP ' + r.status)); }
        return j;
      });
    });
  };
  var flows = {
    'register': function (b) {
      var name = document.getElementById('passkey_name');
      return post('/api/v1/me/passkeys/register/start').then(function (s) {
        return navigator.credentials.create(creationOptions(s.options)).then(function (c) {
          return post('/api/v1/me/passkeys/register/finish',
            { ceremony: s.ceremony, name: name ? name.value : '', credential: created(c) });
        });
      }).then(function (done) {
        var codes = document.getElementById('passkey-codes');
        if (done.backup_codes && codes) {
          var list = codes.querySelector('ul');
          done.backup_codes.forEach(function (code) {
            var li = document.createElement('li');
            var el = document.createElement('code');
            el.textContent = code;
            li.appendChild(el);
            list.appendChild(li);
          });
          codes.hidden = false;
          say('Passkey added. Two-step verification is on.');
        } else {
          window.location.assign(b.dataset.next || '/account/two-step');
        }
      });
    },
    'sign-in': function (b) {
      return post('/api/v1/session/passkey/start').then(function (s) {
        return navigator.credentials.get(requestOptions(s.options)).then(function (c) {
          return post('/api/v1/session/passkey/finish', { ceremony: s.ceremony, credential: asserted(c) });
        });
      }).then(function () { window.location.assign(b.dataset.next || '/apps'); });
    },
    'second-step': function (b) {
      var challenge = b.dataset.challenge;
      return post('/api/v1/session/second-factor/passkey/start', { challenge: challenge }).then(function (s) {
        return navigator.credentials.get(requestOptions(s.options)).then(function (c) {
          return post('/api/v1/session/second-factor',
            { challenge: challenge, method: 'passkey', code: JSON.stringify(asserted(c)) });
        });
      }).then(function () { window.location.assign(b.dataset.next || '/apps'); });
    }
  };
  Array.prototype.forEach.call(buttons, function (b) {
    b.hidden = false;
    b.addEventListener('click', function (e) {
      e.preventDefault();
      var flow = flows[b.dataset.passkey];
      if (!flow) { return; }
      b.disabled = true;
      flow(b).catch(function (err) { say('That did not work: ' + err.message); })
        .then(function () { b.disabled = false; });
    });
  });
})();
